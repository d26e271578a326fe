// Renders the App on a FakeSource with a fixed size and clock; keys in, frames out.
import { render } from "ink-testing-library";
import { App } from "../../../plugin/tui/components/app.js";
import { NOW, type FakeSource } from "./fake.js";

export const KEYS = {
  up: "\u001B[A",
  down: "\u001B[B",
  left: "\u001B[D",
  right: "\u001B[C",
  enter: "\r",
  escape: "\u001B",
  tab: "\t",
  backspace: "\u007F",
};

export const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

export function setup(
  source: FakeSource,
  opts: { rows?: number; columns?: number; color?: boolean } = {},
) {
  const ui = render(
    <App
      source={source}
      color={opts.color ?? false}
      size={{ columns: opts.columns ?? 140, rows: opts.rows ?? 30 }}
      now={() => NOW}
    />,
  );
  const frame = () => ui.lastFrame() ?? "";
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      ui.stdin.write(k);
      await tick();
    }
  };
  /** Waits (bounded) until the frame matches. */
  const until = async (re: RegExp, ms = 2000) => {
    const end = Date.now() + ms;
    while (!re.test(frame())) {
      if (Date.now() > end) throw new Error(`frame never matched ${re}:\n${frame()}`);
      await tick(10);
    }
  };
  return { ui, frame, press, until };
}
