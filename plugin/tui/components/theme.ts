// Colours only when allowed (NO_COLOR unset): every styled Text takes its props from here.
import { createContext, useContext } from "react";
import type { Tone } from "../../lib/output.js";

export interface TextStyle {
  color?: string;
  bold?: boolean;
  inverse?: boolean;
  dimColor?: boolean;
}

const TONES: Record<Tone, TextStyle> = {
  ok: { color: "green" },
  bad: { color: "red" },
  warn: { color: "yellow" },
  dim: { dimColor: true },
  bold: { bold: true },
};

export interface Theme {
  color: boolean;
  tone(t: Tone): TextStyle;
  title: TextStyle;
  selected: TextStyle;
  key: TextStyle;
}

export function makeTheme(color: boolean): Theme {
  if (!color) return { color, tone: () => ({}), title: {}, selected: {}, key: {} };
  return {
    color,
    tone: (t) => TONES[t],
    title: { bold: true, color: "cyan" },
    selected: { inverse: true },
    key: { bold: true, color: "cyan" },
  };
}

/** NO_COLOR (https://no-color.org): present and not empty turns colour off. */
export function colorAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === "";
}

/** The theme every component of the console draws with; App provides it once. */
export const ThemeContext = createContext<Theme>(makeTheme(false));

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
