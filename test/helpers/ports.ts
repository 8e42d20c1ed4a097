import net from 'node:net';

// Ports handed to servers that must know their port before they listen (Gatehouse's public URL,
// child-process upstreams). They come from below the kernel's ephemeral range (32768–60999 on
// Linux), because a port from `listen(0)` is an ephemeral one: between the probe closing it and the
// server binding it, any outgoing connection of the busy test run may take it as its local port.
// Each vitest worker takes its own slice of the range and walks through it, so a process hands a
// port out again only after it has handed out all the others of its slice.
const LOW = 20_000;
const HIGH = 32_767;
const SLICE = 1_500;
const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0);
const sliceStart = LOW + ((worker * SLICE) % (HIGH - LOW - SLICE));
let offset = Math.floor(Math.random() * SLICE);

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that is free, outside the ephemeral range, and not handed out lately. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = sliceStart + (offset++ % SLICE);
    if (await probe(port)) return port;
  }
  throw new Error(`no free port between ${sliceStart} and ${sliceStart + SLICE - 1}`);
}
