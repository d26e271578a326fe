// The kubelet's AtomicWriter layout for configMap/secret/projected/downwardAPI volumes: the files live in a
// timestamped directory `..2026_11_27_06_35_04.123456789`, `..data` is a symlink to it, and every top-level name is a
// symlink `name -> ..data/name`. An update writes a new timestamped dir and renames a new `..data` symlink over the
// old one, so readers see either the old or the new set, never a mix.
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

export type Payload = Map<string, { data: Buffer; mode: number }>;

function tsDirName(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(
    d.getUTCMinutes(),
  )}_${p(d.getUTCSeconds())}.${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;
}

function currentMatches(dir: string, payload: Payload): boolean {
  let target: string;
  try {
    target = readlinkSync(join(dir, "..data"));
  } catch {
    return false;
  }
  const base = join(dir, target);
  const existing = listFiles(base);
  if (existing.length !== payload.size) return false;
  for (const [rel, f] of payload) {
    try {
      const st = statSync(join(base, rel));
      if ((st.mode & 0o777) !== f.mode) return false;
      if (!readFileSync(join(base, rel)).equals(f.data)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function listFiles(base: string, prefix = ""): string[] {
  let entries;
  try {
    entries = readdirSync(join(base, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(base, rel));
    else out.push(rel);
  }
  return out;
}

/** Writes payload into dir atomically; returns false when the content was already there. */
export function writeAtomic(dir: string, payload: Payload): boolean {
  mkdirSync(dir, { recursive: true });
  if (currentMatches(dir, payload)) return false;
  let old: string | undefined;
  try {
    old = readlinkSync(join(dir, "..data"));
  } catch {
    old = undefined;
  }
  const ts = tsDirName();
  mkdirSync(join(dir, ts), { mode: 0o755 });
  for (const [rel, f] of payload) {
    const p = join(dir, ts, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.data);
    chmodSync(p, f.mode);
  }
  const tmp = join(dir, "..data_tmp");
  rmSync(tmp, { force: true });
  symlinkSync(ts, tmp);
  renameSync(tmp, join(dir, "..data"));
  const tops = new Set([...payload.keys()].map((k) => k.split("/")[0]!));
  for (const top of tops) {
    try {
      readlinkSync(join(dir, top));
    } catch {
      symlinkSync(join("..data", top), join(dir, top));
    }
  }
  for (const name of readdirSync(dir)) {
    if (name.startsWith("..") || tops.has(name)) continue;
    rmSync(join(dir, name), { force: true, recursive: true });
  }
  if (old) rmSync(join(dir, old), { recursive: true, force: true });
  return true;
}
