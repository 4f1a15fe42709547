import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { planChunks, textPlan, warmUp } from './format.js';
import { blockRange, CLAIMED, POSTED, STOP, TAKEN, WARM_MS, type BlockJob, type BlockMessage } from './format-parallel.js';

// A formatting worker of TextFormatter: compiles the row loop while the frame is being read, then
// claims blocks in order, formats each and posts it back.
const { port } = workerData as { port: MessagePort };
// Compile the row loop while the main thread reads the frame (about 100 ms otherwise lost on the
// first block); stop as soon as the job is there.
let early: BlockJob | undefined;
warmUp(WARM_MS, () => (early = receiveMessageOnPort(port)?.message as BlockJob | undefined) !== undefined);
if (early) run(early);
else port.once('message', run);

function run(job: BlockJob): void {
  const { table, format, blockRows, blocks, window, control } = job;
  const plan = textPlan(table, format);
  for (;;) {
    if (Atomics.load(control, STOP)) break;
    const block = Atomics.add(control, CLAIMED, 1);
    if (block >= blocks) break;
    // Wait while the caller is a whole window behind: memory stays bounded on a slow output.
    for (let taken = Atomics.load(control, TAKEN); block >= taken + window && !Atomics.load(control, STOP); taken = Atomics.load(control, TAKEN))
      Atomics.wait(control, TAKEN, taken);
    if (Atomics.load(control, STOP)) break;
    const [r0, r1] = blockRange(plan, blockRows, block);
    const chunks = [...planChunks(plan, r0, r1)];
    const message: BlockMessage = { block, chunks };
    port.postMessage(message, chunks.map((c) => c.buffer as ArrayBuffer));
    Atomics.add(control, POSTED, 1);
    Atomics.notify(control, POSTED);
  }
  port.close();
}
