import { RegistryException } from 'src/modules/registry/registry.exception';
import { SCORING_PROTOCOL_CHANGE_INFO, validateScoringBody } from 'src/modules/registry/scoring-protocol';

function errorOf(body: unknown): { status: number; detail: unknown } {
  try {
    validateScoringBody(body);
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryException);
    const e = error as RegistryException;
    return { status: e.status, detail: e.options.mlflowDetail };
  }
  throw new Error('expected a validation error');
}

const PREFIX =
  "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_records', 'dataframe_split', 'instances', 'inputs'}";

describe('MLflow scoring protocol validation', () => {
  it.each([
    [{ dataframe_split: { columns: ['x'], data: [[1]] } }],
    [{ dataframe_records: [{ x: 1 }] }],
    [{ instances: [[1]] }],
    [{ inputs: { x: [1] }, params: { threshold: 0.5 } }],
    [{ messages: [{ role: 'user', content: 'hi' }], temperature: 0 }],
    [{ prompt: 'hi' }],
  ])('accepts %j unchanged', (body) => {
    expect(validateScoringBody(body)).toBe(body);
  });

  it("answers MLflow's 400 for no input field, listing what it received", () => {
    expect(errorOf({ columns: ['x'] })).toEqual({
      status: 400,
      detail: {
        error_code: 'BAD_REQUEST',
        message: `${PREFIX}. Received dictionary with input fields: []. ${SCORING_PROTOCOL_CHANGE_INFO}`,
      },
    });
  });

  it('answers 400 for two input fields, in the order sent', () => {
    const { detail } = errorOf({ inputs: [1], dataframe_records: [] });
    expect((detail as { message: string }).message).toContain(
      "Received dictionary with input fields: ['inputs', 'dataframe_records'].",
    );
  });

  it('answers 400 for a list or a scalar, as the scoring server does', () => {
    expect((errorOf([[1]]).detail as { message: string }).message).toBe(`${PREFIX}. Received a list.`);
    expect((errorOf('x').detail as { message: string }).message).toBe(
      `${PREFIX}. Received unexpected input type '<class 'str'>.`,
    );
  });

  it('answers 400 for params that are not a dictionary and a malformed dataframe', () => {
    expect(errorOf({ inputs: [1], params: [1] }).status).toBe(400);
    expect(errorOf({ dataframe_split: [[1]] }).status).toBe(400);
    expect(errorOf({ dataframe_records: 'x' }).status).toBe(400);
  });
});
