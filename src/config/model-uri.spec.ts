import { formatModelReference, parseModelUri } from 'src/config/model-uri';

describe('registry model URIs', () => {
  it.each([
    ['models:/churn@champion', { name: 'churn', kind: 'alias', alias: 'champion' }],
    ['models:/churn/3', { name: 'churn', kind: 'version', version: '3' }],
    ['models:/churn/007', { name: 'churn', kind: 'version', version: '7' }],
    ['models:/churn/production', { name: 'churn', kind: 'stage', stage: 'Production' }],
    ['models:/team.churn-model/Staging', { name: 'team.churn-model', kind: 'stage', stage: 'Staging' }],
  ])('parses %s', (uri, expected) => {
    expect(parseModelUri(uri)).toEqual(expected);
  });

  it.each([
    'runs:/abc/model',
    'models:/churn',
    'models:/churn/',
    'models:/churn@',
    'models:/churn/latest-ish',
  ])('refuses %s with a reason', (uri) => {
    expect(typeof parseModelUri(uri)).toBe('string');
  });

  it('formats references back to their canonical URI', () => {
    expect(formatModelReference({ name: 'm', kind: 'stage', stage: 'Production' })).toBe(
      'models:/m/Production',
    );
    expect(formatModelReference({ name: 'm', kind: 'alias', alias: 'a' })).toBe('models:/m@a');
  });
});
