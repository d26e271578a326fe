// One pod on the node, like the kubelet's pod worker: volumes, init containers in order, containers with restart
// policy and back-off, probes, status via pods/status, graceful deletion.
import type {
  CoreV1Api,
  V1Container,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
  V1Probe,
} from "@kubernetes/client-node";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { createHash, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { ConfigError, containerArgv, containerEnv, type EnvBase } from "./env.js";
import type { ExecTarget } from "./exec.js";
import { containerIdentity, type Identity, type UserDb } from "./identity.js";
import { ImagePullError, isCoredogImage, resolveImage, type RootfsImage } from "./image.js";
import { errorText } from "../../../src/error-text.js";
import { runProbe } from "./probes.js";
import { runContainer, type ContainerExit, type ContainerHandle } from "./runner.js";
import { MountError, PodVolumes, SA_MOUNT_PATH, type VolumeSources } from "./volumes.js";

export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const MAX_GRACE_MS = 5_000;
const MAX_BACKOFF_MS = 10_000;
/** Probe timing is shortened for the rig: periods and initial delays are capped (seconds). */
const MAX_PROBE_PERIOD = 2;
const MAX_PROBE_DELAY = 2;

export interface PodContext {
  nodeName: string;
  core: CoreV1Api;
  dir: string; // the rig dir (logs under <dir>/logs)
  podDir: string;
  hostRoot: string;
  checkoutDir: string;
  apiHost: string;
  apiPort: string;
  sources: VolumeSources;
  /** RLIMIT_CORE the runtime gives every container process, exec'd ones included (prlimit syntax; default: the node's). */
  coreLimit?: string;
  log: (msg: string) => void;
  event: (pod: V1Pod, type: "Normal" | "Warning", reason: string, message: string) => void;
}

export { isCoredogImage };

/** The user database under a root filesystem: an image's own, or the node's for images the rig runs on its files. */
function userDb(root: string): UserDb {
  const read = (p: string) => {
    try {
      return readFileSync(join(root, p), "utf8");
    } catch {
      return "";
    }
  };
  return { passwd: read("etc/passwd"), group: read("etc/group") };
}

type State =
  | { kind: "waiting"; reason: string; message?: string }
  | { kind: "running"; startedAt: Date }
  | { kind: "terminated"; exit: ContainerExit; startedAt: Date };

interface Ctr {
  spec: V1Container;
  init: boolean;
  state: State;
  last?: { exit: ContainerExit; startedAt: Date; containerID: string };
  restartCount: number;
  backoffN: number;
  ready: boolean;
  started: boolean;
  containerID: string;
  handle?: ContainerHandle;
  /** How the running process was started (env, user), for exec. */
  exec?: { env: Record<string, string>; user?: Identity; workingDir?: string };
  probeTimers: NodeJS.Timeout[];
  /** Set while the node kills it on purpose (liveness failure, deletion). */
  stopping?: boolean;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export class PodWorker {
  pod: V1Pod;
  readonly ip: string;
  private readonly volumes: PodVolumes;
  private readonly ctrs = new Map<string, Ctr>();
  private phase: "Pending" | "Running" | "Succeeded" | "Failed" = "Pending";
  private initialized = false;
  private readonly startTime = new Date();
  private readonly abort = new AbortController();
  private publishing: Promise<void> | undefined;
  private dirty = false;
  private terminating: Promise<void> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private cleaned = false;
  /** Every main container ended for good (native sidecars are then stopped, not restarted). */
  private mainDone = false;

  constructor(
    pod: V1Pod,
    ip: string,
    private readonly ctx: PodContext,
  ) {
    this.pod = {
      ...pod,
      status: { ...pod.status, podIP: ip, podIPs: [{ ip }], hostIP: "127.0.0.1" },
    };
    this.ip = ip;
    this.volumes = new PodVolumes(this.pod, ctx.podDir, ctx.hostRoot, ctx.sources);
    for (const c of pod.spec?.initContainers ?? []) this.ctrs.set(c.name, this.newCtr(c, true));
    for (const c of pod.spec?.containers ?? []) this.ctrs.set(c.name, this.newCtr(c, false));
  }

  private newCtr(spec: V1Container, init: boolean): Ctr {
    return {
      spec,
      init,
      state: { kind: "waiting", reason: init ? "PodInitializing" : "ContainerCreating" },
      restartCount: 0,
      backoffN: 0,
      ready: false,
      started: false,
      containerID: "",
      probeTimers: [],
    };
  }

  get ns(): string {
    return this.pod.metadata?.namespace ?? "default";
  }
  get name(): string {
    return this.pod.metadata?.name ?? "";
  }
  get uid(): string {
    return this.pod.metadata?.uid ?? "";
  }
  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Latest object from the watch. */
  update(pod: V1Pod): void {
    this.pod = {
      ...pod,
      status: { ...pod.status, podIP: this.ip, podIPs: [{ ip: this.ip }], hostIP: "127.0.0.1" },
    };
    if (pod.metadata?.deletionTimestamp) void this.terminate();
  }

  async run(): Promise<void> {
    this.publish();
    // Volumes (retried while objects are missing, as the kubelet does).
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.volumes.setup();
        break;
      } catch (err) {
        const msg = (err as Error).message;
        if (attempt === 0)
          this.ctx.event(this.pod, "Warning", "FailedMount", `MountVolume.SetUp failed: ${msg}`);
        for (const c of this.ctrs.values()) {
          if (c.init || (this.pod.spec?.initContainers ?? []).length === 0) {
            c.state = { kind: "waiting", reason: "ContainerCreating", message: msg };
          }
        }
        this.publish();
        await sleep(1000, this.abort.signal);
      }
    }
    if (this.stopped) return;
    this.refreshTimer = setInterval(() => {
      void this.volumes.refresh(this.pod).catch(() => undefined);
    }, 1000);

    const policy = this.pod.spec?.restartPolicy ?? "Always";
    const sidecars: Promise<void>[] = [];
    for (const c of this.ctrs.values()) {
      if (!c.init) continue;
      if (c.spec.restartPolicy === "Always") {
        // A native sidecar: restarted whatever the pod's policy; the next init container waits only for its start.
        sidecars.push(this.loop(c, "Always"));
        while (!this.stopped && !c.containerID) await sleep(20, this.abort.signal);
        if (this.stopped) return;
        continue;
      }
      for (;;) {
        const exit = await this.runOnce(c);
        if (this.stopped) return;
        if (exit && exit.exitCode === 0) break;
        if (policy === "Never") {
          this.phase = "Failed";
          this.publish();
          return;
        }
        await this.backoff(c);
        if (this.stopped) return;
      }
    }
    this.initialized = true;
    for (const c of this.ctrs.values())
      if (!c.init) c.state = { kind: "waiting", reason: "ContainerCreating" };
    this.publish();
    await Promise.all(
      [...this.ctrs.values()].filter((c) => !c.init).map((c) => this.loop(c, policy)),
    );
    if (sidecars.length === 0) return;
    // Every main container has ended for good: the kubelet stops the sidecars.
    this.mainDone = true;
    for (const c of this.ctrs.values()) if (c.init && c.handle) void c.handle.stop(this.graceMs());
    await Promise.all(sidecars);
  }

  private async loop(c: Ctr, policy: string): Promise<void> {
    for (;;) {
      const exit = await this.runOnce(c);
      if (this.stopped || (c.init && this.mainDone)) return;
      const failed = !exit || exit.exitCode !== 0;
      const restart = policy === "Always" || (policy === "OnFailure" && failed);
      if (!restart) {
        this.updatePhase();
        this.publish();
        return;
      }
      await this.backoff(c);
      if (this.stopped || (c.init && this.mainDone)) return;
    }
  }

  private async backoff(c: Ctr): Promise<void> {
    const ranMs =
      c.state.kind === "terminated"
        ? c.state.exit.finishedAt.getTime() - c.state.startedAt.getTime()
        : 0;
    if (ranMs > 20_000) c.backoffN = 0;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(c.backoffN++, 10));
    if (c.state.kind === "terminated")
      c.last = { exit: c.state.exit, startedAt: c.state.startedAt, containerID: c.containerID };
    c.restartCount++;
    c.state = {
      kind: "waiting",
      reason: "CrashLoopBackOff",
      message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.spec.name} pod=${this.name}_${this.ns}(${this.uid})`,
    };
    this.ctx.event(this.pod, "Warning", "BackOff", "Back-off restarting failed container");
    this.publish();
    await sleep(delay, this.abort.signal);
  }

  /** Starts the container once and waits for it to end; undefined when it could not start. */
  private async runOnce(c: Ctr): Promise<ContainerExit | undefined> {
    let image: RootfsImage | undefined;
    let handle: ContainerHandle;
    let env: Record<string, string>;
    let user: Identity | undefined;
    let workingDir: string | undefined;
    try {
      // CoreDog's image runs from its own root filesystem, with its Env, WorkingDir and USER as defaults.
      image = resolveImage(this.ctx.checkoutDir, c.spec.image);
      const base: EnvBase = {
        PATH: image?.env.PATH ?? SYSTEM_PATH,
        apiHost: this.ctx.apiHost,
        apiPort: this.ctx.apiPort,
      };
      this.pod = {
        ...this.pod,
        status: {
          ...this.pod.status,
          podIP: this.ip,
          podIPs: [{ ip: this.ip }],
          hostIP: "127.0.0.1",
        },
      };
      env = await containerEnv(this.pod, c.spec, base, this.ctx.sources);
      if (image) env = { ...image.env, ...env };
      const argv = containerArgv(c.spec, env);
      if (!argv) {
        throw new ConfigError(
          `the rig runs images without their entrypoint: image "${c.spec.image}" needs a command in the container spec`,
        );
      }
      const mounts = this.volumes.mountsFor(c.spec, env);
      const automount = this.pod.spec?.automountServiceAccountToken !== false;
      if (automount && !PodVolumes.mountsServiceAccount(c.spec)) {
        const hasKubeApiAccess = (this.pod.spec?.volumes ?? []).some((v) =>
          v.name.startsWith("kube-api-access"),
        );
        if (!hasKubeApiAccess) mounts.push(await this.volumes.serviceAccountMount());
      }
      const logFile = join(this.ctx.dir, "logs", this.ns, this.name, `${c.spec.name}.log`);
      // A new pod of the same name (e.g. a StatefulSet's) starts with an empty log; restarts append to it.
      if (!c.containerID && !c.last) {
        mkdirSync(dirname(logFile), { recursive: true });
        writeFileSync(logFile, "");
      }
      user = this.runAs(c.spec, image);
      workingDir = c.spec.workingDir || image?.workingDir;
      handle = runContainer({
        command: argv,
        env,
        workingDir,
        mounts,
        logFile,
        user,
        ...(this.ctx.coreLimit ? { coreLimit: this.ctx.coreLimit } : {}),
        ...(image
          ? {
              rootfs: {
                dir: image.rootfs,
                readOnly: c.spec.securityContext?.readOnlyRootFilesystem === true,
              },
            }
          : {}),
      });
    } catch (err) {
      if (err instanceof ImagePullError) return this.pullBackOff(c, err);
      const reason =
        err instanceof ConfigError
          ? "CreateContainerConfigError"
          : err instanceof MountError
            ? "ContainerCreating"
            : "RunContainerError";
      c.state = { kind: "waiting", reason, message: (err as Error).message };
      this.ctx.event(this.pod, "Warning", "Failed", `Error: ${(err as Error).message}`);
      this.publish();
      if (reason === "CreateContainerConfigError") {
        // The kubelet retries config errors without counting restarts.
        await sleep(1000, this.abort.signal);
        return this.stopped ? undefined : this.runOnce(c);
      }
      return undefined;
    }
    c.handle = handle;
    c.exec = { env, ...(user ? { user } : {}), ...(workingDir ? { workingDir } : {}) };
    c.containerID = `containerd://${randomBytes(32).toString("hex")}`;
    c.state = { kind: "running", startedAt: handle.startedAt };
    c.started = !c.spec.startupProbe;
    c.ready = !c.init && !c.spec.readinessProbe && c.started;
    c.stopping = false;
    this.ctx.event(this.pod, "Normal", "Started", `Started container ${c.spec.name}`);
    this.updatePhase();
    this.publish();
    if (!c.init) this.startProbes(c);
    const exit = await handle.exited;
    for (const t of c.probeTimers) clearTimeout(t);
    c.probeTimers = [];
    c.handle = undefined;
    c.exec = undefined;
    c.ready = false;
    c.state = { kind: "terminated", exit, startedAt: handle.startedAt };
    this.updatePhase();
    this.publish();
    return exit;
  }

  /** The kubelet's pull failure: ErrImagePull, then ImagePullBackOff, then another try (no restart counted). */
  private async pullBackOff(c: Ctr, err: ImagePullError): Promise<ContainerExit | undefined> {
    const image = c.spec.image ?? "";
    c.state = { kind: "waiting", reason: "ErrImagePull", message: err.message };
    this.ctx.event(
      this.pod,
      "Warning",
      "Failed",
      `Failed to pull image "${image}": ${err.message}`,
    );
    this.publish();
    await sleep(1000, this.abort.signal);
    if (this.stopped) return undefined;
    c.state = {
      kind: "waiting",
      reason: "ImagePullBackOff",
      message: `Back-off pulling image "${image}": ${err.message}`,
    };
    this.ctx.event(this.pod, "Normal", "BackOff", `Back-off pulling image "${image}"`);
    this.publish();
    await sleep(MAX_BACKOFF_MS / 2, this.abort.signal);
    return this.stopped ? undefined : this.runOnce(c);
  }

  /**
   * The process's credentials; undefined for plain root (uid 0, gid 0, no groups). An image brings its USER (the
   * default when the pod sets no runAsUser) and its own user database; other images run on the node's files.
   */
  private runAs(c: V1Container, image: RootfsImage | undefined): Identity | undefined {
    let id: Identity;
    try {
      id = containerIdentity(this.pod, c, userDb(image ? image.rootfs : "/"), image?.user);
    } catch (err) {
      throw new ConfigError(errorText(err));
    }
    return id.uid === 0 && id.gid === 0 && id.groups.length === 0 ? undefined : id;
  }

  private startProbes(c: Ctr): void {
    const handle = c.handle!;
    const schedule = (probe: V1Probe, onResult: (ok: boolean) => void, first = true): void => {
      const delay = first
        ? Math.min(probe.initialDelaySeconds ?? 0, MAX_PROBE_DELAY)
        : Math.min(probe.periodSeconds ?? 10, MAX_PROBE_PERIOD);
      const t = setTimeout(async () => {
        const exec = this.execTarget(c.spec.name);
        if (handle.exit() || this.stopped || !exec) return;
        const ok = await runProbe(probe, { podIP: this.ip, container: c.spec, exec });
        if (handle.exit() || this.stopped) return;
        onResult(ok);
        schedule(probe, onResult, false);
      }, delay * 1000);
      c.probeTimers.push(t);
    };
    const counter = (probe: V1Probe, onPass: () => void, onFail: () => void) => {
      let good = 0;
      let bad = 0;
      return (ok: boolean) => {
        if (ok) {
          bad = 0;
          if (++good >= (probe.successThreshold ?? 1)) onPass();
        } else {
          good = 0;
          if (++bad >= (probe.failureThreshold ?? 3)) onFail();
        }
      };
    };
    const kill = (why: string): void => {
      if (c.stopping) return;
      c.stopping = true;
      this.ctx.event(
        this.pod,
        "Normal",
        "Killing",
        `Container ${c.spec.name} ${why}, will be restarted`,
      );
      void handle.stop(this.graceMs());
    };
    const startMain = (): void => {
      const { readinessProbe: rp, livenessProbe: lp } = c.spec;
      if (rp) {
        schedule(
          rp,
          counter(
            rp,
            () => this.setReady(c, true),
            () => this.setReady(c, false),
          ),
        );
      } else this.setReady(c, true);
      if (lp) {
        schedule(
          lp,
          counter(
            lp,
            () => undefined,
            () => {
              this.ctx.event(this.pod, "Warning", "Unhealthy", `Liveness probe failed`);
              kill("failed liveness probe");
            },
          ),
        );
      }
    };
    const sp = c.spec.startupProbe;
    if (sp) {
      let done = false;
      schedule(
        sp,
        counter(
          sp,
          () => {
            if (done) return;
            done = true;
            c.started = true;
            for (const t of c.probeTimers) clearTimeout(t);
            c.probeTimers = [];
            this.publish();
            startMain();
          },
          () => kill("failed startup probe"),
        ),
      );
    } else startMain();
  }

  private setReady(c: Ctr, ready: boolean): void {
    if (c.ready === ready || c.state.kind !== "running") return;
    c.ready = ready;
    this.publish();
  }

  private graceMs(): number {
    const g =
      this.pod.metadata?.deletionGracePeriodSeconds ??
      this.pod.spec?.terminationGracePeriodSeconds ??
      30;
    return Math.min(g * 1000, MAX_GRACE_MS);
  }

  private updatePhase(): void {
    if (this.phase === "Failed" || this.phase === "Succeeded") return;
    if (!this.initialized) return;
    const main = [...this.ctrs.values()].filter((c) => !c.init);
    const policy = this.pod.spec?.restartPolicy ?? "Always";
    const allDone = main.every((c) => c.state.kind === "terminated");
    if (allDone && policy !== "Always") {
      const ok = main.every((c) => c.state.kind === "terminated" && c.state.exit.exitCode === 0);
      if (ok) this.phase = "Succeeded";
      else if (policy === "Never") this.phase = "Failed";
      else this.phase = "Running";
      return;
    }
    if (main.some((c) => c.state.kind !== "waiting" || c.restartCount > 0)) this.phase = "Running";
  }

  /** The pod's status as the kubelet reports it. */
  status(): V1PodStatus {
    const now = new Date();
    const main = [...this.ctrs.values()].filter((c) => !c.init);
    const allReady = main.length > 0 && main.every((c) => c.ready);
    const cond = (type: string, ok: boolean, reason?: string): V1PodCondition => ({
      type,
      status: ok ? "True" : "False",
      lastTransitionTime: now,
      ...(ok || !reason ? {} : { reason }),
    });
    const notReady = main.filter((c) => !c.ready).map((c) => c.spec.name);
    const conditions: V1PodCondition[] = [
      cond("PodReadyToStartContainers", true),
      cond("Initialized", this.initialized, "ContainersNotInitialized"),
      {
        ...cond("Ready", allReady, "ContainersNotReady"),
        ...(allReady ? {} : { message: `containers with unready status: [${notReady.join(" ")}]` }),
      },
      {
        ...cond("ContainersReady", allReady, "ContainersNotReady"),
        ...(allReady ? {} : { message: `containers with unready status: [${notReady.join(" ")}]` }),
      },
      cond("PodScheduled", true),
    ];
    // Keep lastTransitionTime stable for conditions that did not change.
    for (const c of conditions) {
      const prev = (this.pod.status?.conditions ?? []).find((p) => p.type === c.type);
      if (prev && prev.status === c.status && prev.lastTransitionTime)
        c.lastTransitionTime = prev.lastTransitionTime;
    }
    const statuses = (init: boolean): V1ContainerStatus[] =>
      [...this.ctrs.values()].filter((c) => c.init === init).map((c) => this.containerStatus(c));
    const st: V1PodStatus = {
      phase: this.phase,
      conditions,
      hostIP: "127.0.0.1",
      hostIPs: [{ ip: "127.0.0.1" }],
      podIP: this.ip,
      podIPs: [{ ip: this.ip }],
      startTime: this.startTime,
      qosClass: this.pod.status?.qosClass ?? "BestEffort",
      containerStatuses: statuses(false),
    };
    if ((this.pod.spec?.initContainers ?? []).length > 0) st.initContainerStatuses = statuses(true);
    return st;
  }

  private containerStatus(c: Ctr): V1ContainerStatus {
    const image = c.spec.image ?? "";
    const imageID = `${image.split(":")[0]}@sha256:${createHash("sha256").update(image).digest("hex")}`;
    const term = (exit: ContainerExit, startedAt: Date, containerID: string) => ({
      terminated: {
        exitCode: exit.exitCode,
        ...(exit.signal ? { signal: exit.signal } : {}),
        reason: exit.exitCode === 0 ? "Completed" : "Error",
        startedAt,
        finishedAt: exit.finishedAt,
        containerID,
      },
    });
    const s = c.state;
    const state =
      s.kind === "waiting"
        ? { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } }
        : s.kind === "running"
          ? { running: { startedAt: s.startedAt } }
          : term(s.exit, s.startedAt, c.containerID);
    return {
      name: c.spec.name,
      state,
      lastState: c.last ? term(c.last.exit, c.last.startedAt, c.last.containerID) : {},
      ready: c.ready,
      restartCount: c.restartCount,
      image,
      imageID: c.containerID ? imageID : "",
      ...(c.containerID ? { containerID: c.containerID } : {}),
      started: c.state.kind === "running" && c.started,
    };
  }

  /** Sends the status (coalesced: one request in flight, the latest state wins). */
  publish(): void {
    this.dirty = true;
    if (this.publishing) return;
    this.publishing = (async () => {
      while (this.dirty && !this.cleaned) {
        this.dirty = false;
        try {
          const updated = await this.ctx.core.patchNamespacedPodStatus(
            { name: this.name, namespace: this.ns, body: { status: this.status() } },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          );
          if (updated.metadata?.uid === this.uid)
            this.pod = { ...this.pod, status: updated.status };
        } catch (err) {
          const code = (err as { code?: number }).code;
          if (code === 404) return;
          this.ctx.log(`status of ${this.ns}/${this.name}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 200));
          this.dirty = true;
          if (this.stopped && this.terminating === undefined) return;
        }
      }
    })().finally(() => {
      this.publishing = undefined;
    });
  }

  isTerminating(): boolean {
    return this.terminating !== undefined;
  }

  /** Graceful deletion: SIGTERM, grace (capped), SIGKILL, cleanup, then the final delete (grace 0). */
  terminate(): Promise<void> {
    if (!this.terminating) {
      this.terminating = (async () => {
        const grace = this.graceMs();
        for (const c of this.ctrs.values()) {
          if (c.handle) {
            c.stopping = true;
            this.ctx.event(this.pod, "Normal", "Killing", `Stopping container ${c.spec.name}`);
          }
        }
        this.abort.abort();
        await Promise.all([...this.ctrs.values()].map((c) => c.handle?.stop(grace)));
        await this.publishing;
        this.cleanup();
        try {
          await this.ctx.core.deleteNamespacedPod({
            name: this.name,
            namespace: this.ns,
            gracePeriodSeconds: 0,
            body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } },
          });
        } catch (err) {
          const code = (err as { code?: number }).code;
          if (code !== 404 && code !== 409)
            this.ctx.log(`delete ${this.ns}/${this.name}: ${(err as Error).message}`);
        }
      })();
    }
    return this.terminating;
  }

  /** The pod object is gone (or the node stops): kill everything now and clean up. */
  async kill(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.ctrs.values()].map((c) => c.handle?.stop(0)));
    this.cleanup();
  }

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const c of this.ctrs.values()) for (const t of c.probeTimers) clearTimeout(t);
    this.volumes.cleanup();
    rmSync(this.ctx.podDir, { recursive: true, force: true });
  }

  /** For tests and the node: a container's host PID while it runs. */
  pidOf(container: string): number | undefined {
    return this.ctrs.get(container)?.handle?.pid;
  }

  /** What `kubectl exec` needs to run a command in a container, while it runs (else undefined). */
  execTarget(container: string): ExecTarget | undefined {
    const c = this.ctrs.get(container);
    const h = c?.handle;
    if (!c || !h || !c.exec || h.exit() || this.cleaned) return undefined;
    return {
      pid: h.pid,
      env: c.exec.env,
      ...(c.exec.workingDir ? { workingDir: c.exec.workingDir } : {}),
      ...(c.exec.user ? { user: c.exec.user } : {}),
      ...(h.cgroupPath ? { cgroupPath: h.cgroupPath } : {}),
      ...(this.ctx.coreLimit ? { coreLimit: this.ctx.coreLimit } : {}),
    };
  }
}

export { SA_MOUNT_PATH };
