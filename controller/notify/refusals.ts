// The last security refusal of each notice channel (by its index in NoticeChannel), for the node state that
// `kubectl coredog doctor` reads; a channel's entry goes once it accepts a message again.
import type { NoticeRefusal } from "../../src/node-state.js";
import { refusalText } from "../../src/notice-security.js";
import type { NoticeOutcome } from "./notifier.js";

export class RefusalBook {
  private readonly byChannel = new Map<number, NoticeRefusal>();

  constructor(private readonly onChange: () => void = () => {}) {}

  readonly outcome: NoticeOutcome = (index, chan, error) => {
    if (!error) {
      if (this.byChannel.delete(index)) this.onChange();
      return;
    }
    if (!error.refusal) return;
    this.byChannel.set(index, {
      at: new Date().toISOString(),
      channel: index,
      chan,
      kind: error.refusal.kind,
      message: refusalText(chan, error.refusal),
    });
    this.onChange();
  };

  list(): NoticeRefusal[] {
    return [...this.byChannel.values()].sort((a, b) => a.channel - b.channel);
  }
}
