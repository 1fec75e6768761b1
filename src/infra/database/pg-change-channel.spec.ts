import { DataSource } from 'typeorm';
import { AppConfig } from 'src/config/env.config';
import { PgChangeChannel } from 'src/infra/database/pg-change-channel';

/** The in-process channel (no DATABASE_URL): the same follow() logic as over LISTEN/NOTIFY. */
class TestChannel extends PgChangeChannel {
  constructor() {
    super('test_changed', {} as AppConfig, {} as DataSource);
  }
}

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PgChangeChannel.follow', () => {
  it('hears a change committed while the first load is reading (listens before it loads)', async () => {
    const channel = new TestChannel();
    let stored = 'old';
    let snapshot = '';
    const firstRead = gate();
    let loads = 0;
    const load = async (): Promise<void> => {
      loads++;
      const value = stored; // the read
      if (loads === 1) await firstRead.promise; // the first load is slow to return
      snapshot = value;
    };
    const following = channel.follow(load, () => undefined);
    await tick();
    // Another replica commits and notifies while the first load is in progress.
    stored = 'new';
    await channel.publish();
    firstRead.open();
    await following;
    for (let i = 0; i < 5 && snapshot !== 'new'; i++) await tick();
    expect(snapshot).toBe('new');
    expect(loads).toBe(2);
    await channel.onModuleDestroy();
  });

  it('never overlaps loads, and many changes during a load cause exactly one more', async () => {
    const channel = new TestChannel();
    let active = 0;
    let most = 0;
    let loads = 0;
    let slow = gate();
    const load = async (): Promise<void> => {
      loads++;
      active++;
      most = Math.max(most, active);
      await slow.promise;
      active--;
    };
    const following = channel.follow(load, () => undefined);
    slow.open();
    await following;
    expect(loads).toBe(1);
    slow = gate();
    await channel.publish(); // starts load 2, which waits on the gate
    for (let i = 0; i < 5; i++) await channel.publish(); // all during load 2
    slow.open();
    for (let i = 0; i < 10; i++) await tick();
    expect(loads).toBe(3);
    expect(most).toBe(1);
    await channel.onModuleDestroy();
  });

  it('throws the first load’s failure and reports later ones', async () => {
    const channel = new TestChannel();
    await expect(
      channel.follow(
        () => Promise.reject(new Error('db down at start')),
        () => undefined,
      ),
    ).rejects.toThrow('db down at start');
    await channel.onModuleDestroy();

    const other = new TestChannel();
    const errors: unknown[] = [];
    let fail = false;
    await other.follow(
      () => (fail ? Promise.reject(new Error('db down later')) : Promise.resolve()),
      (error) => errors.push(error),
    );
    fail = true;
    await other.publish();
    for (let i = 0; i < 5; i++) await tick();
    expect(errors.map((e) => (e as Error).message)).toEqual(['db down later']);
    await other.onModuleDestroy();
  });
});
