// Admission answers leave together, at the end of the event-loop turn that read their requests.
//
// Writing an answer to a peer that is waiting for it wakes the peer, and on a busy node (above
// all a virtual machine, where a wake-up crosses CPUs) that costs more than the answer itself.
// Written one by one between the reviews, every answer wakes the API server's connection anew;
// written back to back after the turn's reviews, they wake it about once per turn. The wait is
// at most one turn (setImmediate runs right after the poll phase that delivered the requests).
// `npm run bench:webhook` measures the difference (the webhook against a bare server).

/** Queues a write for the end of this event-loop turn. */
export type ReplyBatch = (write: () => void) => void;

export function createReplyBatch(onError: (err: unknown) => void): ReplyBatch {
  let queue: (() => void)[] = [];
  const flush = () => {
    const writes = queue;
    queue = [];
    for (const write of writes) {
      try {
        write();
      } catch (err) {
        onError(err);
      }
    }
  };
  return (write) => {
    if (queue.push(write) === 1) setImmediate(flush);
  };
}
