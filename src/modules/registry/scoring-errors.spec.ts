import { DEFAULT_PREDICT_BALANCING } from 'src/modules/routing/route-table';
import { ModelEndpointEntry } from 'src/modules/routing/model-endpoint.entry';
import { UpstreamFailure } from 'src/infra/http/upstream-http.client';
import {
  classifyScoringFailure,
  scoringError,
  transportError,
  unavailableError,
} from 'src/modules/registry/scoring-errors';

const entry: ModelEndpointEntry = {
  kind: 'model',
  name: 'churn-v4',
  endpointType: 'ml/v1/predict',
  provider: 'mlflow-model-registry',
  modelUri: 'models:/churn/4',
  registeredModel: 'churn',
  origin: 'config',
  limit: null,
  path: undefined,
  timeoutMs: 1000,
  target: { version: '4', url: 'http://v4' },
  unavailable: undefined,
  key: 'churn-v4@4',
  balancing: DEFAULT_PREDICT_BALANCING,
};
const target = entry.target!;

describe('scoring failures: what the caller sees and what retries and fallbacks do', () => {
  it('never moves on from the scoring server’s 4xx (the caller’s payload), whatever its body', () => {
    const withMessage = scoringError(
      entry,
      target,
      400,
      '{"error_code":"BAD_REQUEST","message":"bad column"}',
    );
    expect(withMessage).toMatchObject({ status: 400, message: 'bad column', upstreamStatus: 400 });
    expect(classifyScoringFailure(withMessage)).toBe('fatal');
    // A 4xx without a message is shown as 502 but is still the scoring server's 4xx: final.
    const notFound = scoringError(entry, target, 404, '<html>');
    expect(notFound.status).toBe(502);
    expect(classifyScoringFailure(notFound)).toBe('fatal');
    expect(classifyScoringFailure(scoringError(entry, target, 422, '{"message":"x"}'))).toBe('fatal');
  });

  it('moves on from 5xx, 408, timeouts, refused connections and unavailable versions; 429 is throttled', () => {
    expect(classifyScoringFailure(scoringError(entry, target, 500, 'boom'))).toBe('failure');
    expect(classifyScoringFailure(scoringError(entry, target, 503, ''))).toBe('failure');
    expect(classifyScoringFailure(scoringError(entry, target, 408, ''))).toBe('failure');
    expect(classifyScoringFailure(scoringError(entry, target, 429, ''))).toBe('throttled');
    const refused = transportError(entry, target, 1000, new UpstreamFailure('connect', 'ECONNREFUSED'));
    expect(refused).toMatchObject({ status: 502 });
    expect(classifyScoringFailure(refused)).toBe('failure');
    const timedOut = transportError(entry, target, 1000, new UpstreamFailure('timeout', 'headers'));
    expect(timedOut).toMatchObject({ status: 504 });
    expect(classifyScoringFailure(timedOut)).toBe('failure');
    expect(classifyScoringFailure(unavailableError({ ...entry, target: undefined }))).toBe('failure');
    expect(classifyScoringFailure(new Error('bug'))).toBe('fatal');
  });
});
