import { ShutdownState } from 'src/infra/lifecycle/shutdown-state';

describe('ShutdownState', () => {
  it('turns draining on, then ends every open stream at the deadline (one listener per stream)', () => {
    const state = new ShutdownState();
    let fired = 0;
    for (let i = 0; i < 64; i++) state.streamsEnd.addEventListener('abort', () => fired++, { once: true });
    expect(state.draining).toBe(false);
    state.beginDrain();
    expect(state.draining).toBe(true);
    expect(state.streamsEnd.aborted).toBe(false);
    state.endStreams();
    expect(state.streamsEnd.aborted).toBe(true);
    expect(fired).toBe(64);
  });
});
