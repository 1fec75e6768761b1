/** The sizes of a reliability run. `short` fits CI (≤ 5 minutes on a loaded 2-core machine); `full` is the issue's. */
export interface Profile {
  name: 'short' | 'full';
  seed: number;
  /** Offered load of the load scenarios (requests per second, open loop). */
  rate: number;
  r1Rate: number;
  /** Seconds of load during the rolling restart (the restart itself may take longer). */
  r1Seconds: number;
  r2Concurrent: number;
  r2Room: number;
  r3Limit: number;
  r4Requests: number;
  r5Requests: number;
  r6Requests: number;
  r6TimeoutMs: number;
  r7Clients: number;
  r8OfferS: number;
  r9FreezeMs: number;
  r10DownMs: number;
  r11Cases: number;
  r13Requests: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  short: {
    name: 'short',
    seed: 22,
    rate: 50,
    r1Rate: 50,
    r1Seconds: 30,
    r2Concurrent: 200,
    r2Room: 10,
    r3Limit: 30,
    r4Requests: 1_000,
    r5Requests: 400,
    r6Requests: 20,
    r6TimeoutMs: 2_000,
    r7Clients: 200,
    r8OfferS: 8,
    r9FreezeMs: 10_000,
    r10DownMs: 10_000,
    r11Cases: 3_000,
    r13Requests: 300,
  },
  full: {
    name: 'full',
    seed: 22,
    rate: 200,
    r1Rate: 300,
    r1Seconds: 90,
    r2Concurrent: 200,
    r2Room: 10,
    r3Limit: 200,
    r4Requests: 10_000,
    r5Requests: 10_000,
    r6Requests: 100,
    r6TimeoutMs: 2_000,
    r7Clients: 200,
    r8OfferS: 20,
    r9FreezeMs: 10_000,
    r10DownMs: 30_000,
    r11Cases: 100_000,
    r13Requests: 3_000,
  },
};
