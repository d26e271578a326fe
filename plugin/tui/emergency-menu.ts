// The emergency menu's entries: the same actions as `kubectl coredog emergency`, with their undo.
import type { EmergencyAction } from "./types.js";

export interface EmergencyEntry {
  /** "purge" is a flow of its own (nodes, age, dry run), not one plan. */
  action: EmergencyAction | "purge";
  label: string;
  undo?: string;
  /** Shown instead of an undo hint. */
  irreversible?: boolean;
}

export const EMERGENCY_ACTIONS: EmergencyEntry[] = [
  {
    action: "webhook-ignore",
    label: "webhook ignore: failurePolicy Ignore (pods are admitted while the webhook is down)",
    undo: "webhook restore",
  },
  {
    action: "webhook-fail",
    label: "webhook fail: failurePolicy Fail again",
    undo: "webhook ignore",
  },
  {
    action: "webhook-remove",
    label: "webhook remove: delete the configuration (a copy is kept in the cluster)",
    undo: "webhook restore",
  },
  { action: "webhook-restore", label: "webhook restore: bring back the saved configuration" },
  {
    action: "watcher-pause",
    label: "watcher pause: stop every watcher pod (cores wait on the nodes)",
    undo: "watcher resume",
  },
  { action: "watcher-resume", label: "watcher resume: start the watchers again" },
  { action: "restart-watcher", label: "restart watcher: rolling restart of the DaemonSet" },
  { action: "restart-webhook", label: "restart webhook: rolling restart of the Deployment" },
  {
    action: "purge",
    label: "purge dumps: delete core files on chosen nodes (disk full; a dry-run listing first)",
    irreversible: true,
  },
];
