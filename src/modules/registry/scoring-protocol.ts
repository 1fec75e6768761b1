import { RegistryErrorCode, RegistryException } from 'src/modules/registry/registry.exception';

/*
 * The MLflow scoring protocol as `mlflow models serve` checks it (mlflow/pyfunc/scoring_server):
 * a JSON object with exactly one of the input fields, optional `params`; or a unified LLM payload
 * (`messages`, `prompt`, `input`) passed through as-is. Wrong bodies get MLflow's own words, before
 * any scoring server is called.
 */
export const INPUT_FIELDS = ['dataframe_records', 'dataframe_split', 'instances', 'inputs'] as const;
const LLM_FIELDS = ['messages', 'prompt', 'input'];

const REQUIRED_INPUT_FORMAT =
  "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_records', 'dataframe_split', 'instances', 'inputs'}";

export const SCORING_PROTOCOL_CHANGE_INFO =
  'IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are' +
  ' seeing this error, you are likely using an outdated scoring request format. To resolve the' +
  " error, either update your request format or adjust your MLflow Model's requirements file to" +
  " specify an older version of MLflow (for example, change the 'mlflow' requirement specifier" +
  " to 'mlflow==1.30.0'). If you are making a request using the MLflow client" +
  ' (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in' +
  ' order to use the new request format. For more information about the updated MLflow' +
  ' Model scoring protocol in MLflow 2.0, see' +
  ' https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.';

function badRequest(message: string): RegistryException {
  return new RegistryException(400, RegistryErrorCode.ModelUnavailable, message, {
    error_code: 'BAD_REQUEST',
    message,
  });
}

/** Python's repr of a list of strings, as MLflow prints the fields it received. */
function pyList(items: string[]): string {
  return `[${items.map((item) => `'${item.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;
}

/** Throws MLflow's 400 for a body the scoring server would refuse; returns the body to forward. */
export function validateScoringBody(body: unknown): Record<string, unknown> {
  if (Array.isArray(body)) throw badRequest(`${REQUIRED_INPUT_FORMAT}. Received a list.`);
  if (body === null || typeof body !== 'object') {
    const type =
      body === null
        ? 'NoneType'
        : typeof body === 'string'
          ? 'str'
          : typeof body === 'boolean'
            ? 'bool'
            : typeof body === 'number'
              ? Number.isInteger(body)
                ? 'int'
                : 'float'
              : 'object';
    throw badRequest(`${REQUIRED_INPUT_FORMAT}. Received unexpected input type '<class '${type}'>.`);
  }
  const record = body as Record<string, unknown>;
  if (LLM_FIELDS.some((field) => field in record)) return record;
  const present = Object.keys(record).filter((key) => (INPUT_FIELDS as readonly string[]).includes(key));
  if (present.length !== 1) {
    throw badRequest(
      `${REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: ${pyList(present)}. ${SCORING_PROTOCOL_CHANGE_INFO}`,
    );
  }
  const params = record.params;
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) {
    throw badRequest("'params' must be a JSON dictionary of parameter names to values.");
  }
  if (present[0] === 'dataframe_split') {
    const split = record.dataframe_split;
    if (split === null || typeof split !== 'object' || Array.isArray(split)) {
      throw badRequest(
        "'dataframe_split' must be a JSON dictionary with 'columns' and 'data' (and optionally 'index').",
      );
    }
  }
  if (
    present[0] === 'dataframe_records' &&
    !Array.isArray(record.dataframe_records) &&
    !isObject(record.dataframe_records)
  ) {
    throw badRequest("'dataframe_records' must be a list of JSON dictionaries, one per row.");
  }
  return record;
}

function isObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
