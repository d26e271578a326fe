// Any error as the one line the TUI shows: the CLI's explanation (and hint) when it has one.
import { errorText as plainErrorText } from "../../src/error-text.js";
import { explainKubeError } from "../lib/errors.js";

export function errorText(err: unknown): string {
  const e = explainKubeError(err);
  if (e) return e.hint ? `${e.message} (${e.hint})` : e.message;
  return plainErrorText(err);
}
