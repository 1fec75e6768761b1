import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The repository root (this file is test/e2e/support/python.ts). */
const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const VENV_PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python');
const SETUP_SCRIPT = join(REPO_ROOT, 'scripts', 'setup-python.sh');
const CHECK_SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'mlflow_client_check.py');

/** A cold venv install downloads mlflow-skinny and its dependencies (≈20 s here); leave ample room. */
export const SETUP_TIMEOUT_MS = 280_000;
const RUN_TIMEOUT_MS = 120_000;

interface Output {
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  timeout: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Output> {
  return new Promise((done, fail) => {
    execFile(
      file,
      args,
      { cwd: REPO_ROOT, env, timeout, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          fail(
            new Error(
              `${file} ${args.join(' ')} failed: ${error.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
          return;
        }
        done({ stdout, stderr });
      },
    );
  });
}

let venvReady: Promise<void> | undefined;

/** Runs scripts/setup-python.sh once per process (it is a fast no-op when .venv is already set up). */
export function ensurePythonVenv(): Promise<void> {
  venvReady ??= run('bash', [SETUP_SCRIPT], SETUP_TIMEOUT_MS).then(
    () => undefined,
    (error: unknown) => {
      venvReady = undefined;
      throw error;
    },
  );
  return venvReady;
}

const groupsReady = new Map<string, Promise<void>>();

/** Runs scripts/setup-python.sh for one group (`pgvector`, …) once per process. */
export function runSetupGroup(group: string): Promise<void> {
  let ready = groupsReady.get(group);
  if (!ready) {
    ready = run('bash', [SETUP_SCRIPT, group], SETUP_TIMEOUT_MS).then(
      () => undefined,
      (error: unknown) => {
        groupsReady.delete(group);
        throw error;
      },
    );
    groupsReady.set(group, ready);
  }
  return ready;
}

/** Runs a Python script with the venv's interpreter and parses the single JSON object it prints. */
export async function runPythonJson(
  script: string,
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<unknown> {
  await ensurePythonVenv();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The gateway is on loopback: never send these requests through a proxy from the environment.
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  // Credentials come only from the caller (extraEnv), never from the developer's environment.
  for (const name of ['MLFLOW_TRACKING_TOKEN', 'MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD']) {
    delete env[name];
  }
  Object.assign(env, extraEnv);
  const { stdout } = await run(VENV_PYTHON, [script, ...args], RUN_TIMEOUT_MS, env);
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new Error(`${script} did not print one JSON object:\n${stdout}`);
  }
}

/** One client call's outcome, as test/e2e/mlflow_client_check.py reports it. */
export type Step<T> = { ok: T; error?: undefined } | { ok?: undefined; error: PythonError };

export interface PythonError {
  type: string;
  module: string;
  is_mlflow_exception: boolean;
  is_http_error: boolean;
  status_code: number | null;
  message: string;
}

export interface MlflowEndpointInfo {
  name: string;
  endpoint_type: string;
  model: { name: string | null; provider: string };
  endpoint_url: string;
  limit: { calls: number; key: string | null; renewal_period: string } | null;
}

export interface Usage {
  prompt_tokens: number | null;
  completion_tokens?: number | null;
  total_tokens: number | null;
}

export interface ChatResponse {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: string; content: string | null; tool_calls: unknown; refusal: unknown };
    finish_reason: string | null;
  }[];
  usage: Usage;
}

export interface CompletionsResponse {
  object: string;
  model: string;
  choices: { index: number; text: string; finish_reason: string | null }[];
  usage: Usage;
}

export interface EmbeddingsResponse {
  object: string;
  model: string;
  data: { object: string; index: number; embedding: number[] }[];
  usage: Usage;
}

export interface MlflowClientCheck {
  mlflow_version: string;
  client_class: string;
  list_endpoints: Step<MlflowEndpointInfo[]>;
  get_endpoint: Step<MlflowEndpointInfo>;
  get_endpoint_route: Step<MlflowEndpointInfo>;
  get_endpoint_unknown: Step<MlflowEndpointInfo>;
  predict_chat: Step<ChatResponse>;
  predict_completions: Step<CompletionsResponse>;
  predict_embeddings: Step<EmbeddingsResponse>;
  predict_pinned_route: Step<ChatResponse>;
  predict_split_route: Step<ChatResponse>;
  predict_unknown: Step<ChatResponse>;
  predict_upstream_400: Step<ChatResponse>;
  predict_stream: Step<unknown[]>;
}

/** The value of a step that must have succeeded (fails with the Python error otherwise). */
export function ok<T>(step: Step<T>): T {
  if (step.error) throw new Error(`expected success, got ${step.error.type}: ${step.error.message}`);
  return step.ok;
}

/** The error of a step that must have failed. */
export function failure<T>(step: Step<T>): PythonError {
  if (!step.error) throw new Error(`expected an error, got ${JSON.stringify(step.ok)}`);
  return step.error;
}

/** Drives `mlflow.deployments.get_deploy_client(gatewayUrl)` through the check script. */
/** `token` reaches the client as MLFLOW_TRACKING_TOKEN (sent as `Authorization: Bearer`). */
export async function runMlflowClientCheck(gatewayUrl: string, token: string): Promise<MlflowClientCheck> {
  return (await runPythonJson(CHECK_SCRIPT, [gatewayUrl], {
    MLFLOW_TRACKING_TOKEN: token,
  })) as MlflowClientCheck;
}
