// Cutting a chat message to a provider's size limit without breaking it: lines with a link (the download link)
// are kept whole, other lines are dropped from the end, the line that is cut loses any half-written markup
// (a link, inline code, bold, an escape, a Slack <…|…>), and an open code fence is closed.

const encoder = new TextEncoder();

export function utf8Bytes(s: string): number {
  return encoder.encode(s).length;
}

export const TRUNCATION_MARK = " …(truncated)";
const URL_IN_LINE = /https?:\/\/\S/;
const FENCE = /^\s*```/;

/** The line cut short is made whole again: half-written markup at its end is taken off. */
export function trimBrokenMarkup(line: string): string {
  let s = line;
  for (let i = 0; i < 8; i++) {
    const before = s;
    s = s
      .replace(/https?:\/\/\S*$/, "") // a URL cut anywhere is a broken link
      .replace(/\[[^\]]*\]\([^)]*$/, "") // [text](url…
      .replace(/!?\[[^\]]*$/, "") // [text…
      .replace(/<[^<>]*$/, ""); // Slack <url|text…, Feishu <at …
    if ((s.match(/`/g)?.length ?? 0) % 2 === 1) s = s.slice(0, s.lastIndexOf("`"));
    if ((s.match(/\*\*/g)?.length ?? 0) % 2 === 1) s = s.slice(0, s.lastIndexOf("**"));
    if (((/\\+$/.exec(s)?.[0].length ?? 0) & 1) === 1) s = s.slice(0, -1);
    if (s === before) break;
  }
  return s.replace(/\s+$/, "");
}

function fenceOpen(lines: readonly string[]): boolean {
  return lines.filter((l) => FENCE.test(l)).length % 2 === 1;
}

/**
 * `text` when `measure(text) <= maxBytes`, else the longest cut that fits: every line holding a link kept
 * whole and in place, the first line that does not fit cut at a character boundary and marked
 * `…(truncated)`, later lines without a link dropped. `measure` is the provider's measure (UTF-8 bytes of
 * the text by default; the JSON-encoded length where the limit is on the request body).
 */
export function fitMessage(
  text: string,
  maxBytes: number,
  measure: (s: string) => number = utf8Bytes,
): string {
  if (measure(text) <= maxBytes) return text;
  const lines = text.split("\n");
  const linked = lines.map((l) => URL_IN_LINE.test(l));
  const head: string[] = [];
  /** The head, then `cut` marked, then the lines with a link after it. */
  const compose = (cut: string, from: number): string => {
    const tail = lines.slice(from).filter((_, j) => linked[from + j]);
    const body = [...head, cut + TRUNCATION_MARK];
    if (fenceOpen(body)) body.push("```");
    return [...body, ...tail].join("\n");
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (linked[i]) {
      head.push(line);
      continue;
    }
    if (measure(compose(line, i + 1)) <= maxBytes) {
      head.push(line);
      continue;
    }
    // This line is cut: the longest prefix (whole characters) that fits, then its broken markup removed.
    const chars = Array.from(line);
    let lo = 0;
    let hi = chars.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (measure(compose(chars.slice(0, mid).join(""), i + 1)) <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    const cut = trimBrokenMarkup(chars.slice(0, lo).join(""));
    let out = compose(cut, i + 1);
    // Even an empty cut does not fit: drop earlier lines without a link, last first.
    while (measure(out) > maxBytes) {
      const j = head
        .map((_, k) => k)
        .reverse()
        .find((k) => !URL_IN_LINE.test(head[k]!));
      if (j === undefined) break;
      head.splice(j, 1);
      out = compose(cut, i + 1);
    }
    if (measure(out) <= maxBytes) return out;
    break;
  }
  // The links alone are over the limit: a plain cut by characters, marked.
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(chars.slice(0, mid).join("") + TRUNCATION_MARK) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return trimBrokenMarkup(chars.slice(0, lo).join("")) + TRUNCATION_MARK;
}
