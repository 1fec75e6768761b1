/**
 * The benchmark's child processes (mock upstream, bare proxy, gateway), shared by `npm run bench` and
 * `npm run soak`: each runs in its own process, reports its ports over IPC when ready, and is stopped
 * (or killed) with the runner.
 */
import { ChildProcess, execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isReadyMessage, StopMessage } from './common';

interface RunningChild {
  name: string;
  child: ChildProcess;
}

const children: RunningChild[] = [];

export function startChild(
  name: string,
  /** A file of this directory, or an absolute path (another build's, for `BENCH_COMPARE`). */
  file: string,
  env: Record<string, string>,
  execArgv: string[] = [],
  timeoutMs = 60_000,
  stdout: 'inherit' | number = 'inherit',
): Promise<number[]> {
  const child = fork(path.isAbsolute(file) ? file : path.join(__dirname, file), [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
  });
  children.push({ name, child });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${name} did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown): void => {
      if (!isReadyMessage(message)) return;
      cleanup();
      resolve(message.ports);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** The running child process of that name (undefined once stopped). */
export function childOf(name: string): ChildProcess | undefined {
  return children.find((c) => c.name === name)?.child;
}

export function pidOf(name: string): number | undefined {
  return children.find((c) => c.name === name)?.child.pid;
}

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time a process has used so far, all threads, user + system, in µs (Linux /proc). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ')'; utime and stime are fields 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_S;
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Asks every child to stop (so CPU profiles get written), then kills whatever is left. */
export async function stopChildren(graceMs: number): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (exited(child)) {
            resolve();
            return;
          }
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          const stop: StopMessage = { type: 'stop' };
          if (child.connected) child.send(stop, () => undefined);
          else child.kill('SIGTERM');
        }),
    ),
  );
}

export function killChildrenNow(): void {
  for (const { child } of children) if (!exited(child)) child.kill('SIGKILL');
}

/** gateway.yaml of the benchmark: two OpenAI endpoints on the 0 ms and 50 ms mocks, and a cached one. */
export function gatewayYaml(mock0: number, mock50: number): string {
  const endpoint = (name: string, port: number): string =>
    [
      `  - name: ${name}`,
      '    endpoint_type: llm/v1/chat',
      '    model:',
      '      provider: openai',
      '      name: gpt-4o-mini',
      '      config:',
      '        openai_api_key: sk-bench',
      `        openai_api_base: "http://127.0.0.1:${port}/v1"`,
    ].join('\n');
  // The cached endpoint caches every request (the bench body samples at temperature 0.2).
  const cached = `${endpoint('bench-cache', mock50)}\n    gatehouse:\n      cache: { ttl_seconds: 300, requests: all }`;
  return `endpoints:\n${endpoint('bench-0ms', mock0)}\n${endpoint('bench-50ms', mock50)}\n${cached}\n`;
}
