// Container probes as the kubelet runs them: httpGet (HTTP/HTTPS, certificate not verified, 200..399 is success),
// tcpSocket (connect), exec (in the container's mount namespace, exit 0 is success).
import type { V1Container, V1Probe } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { execArgv, type ExecTarget } from "./exec.js";

function resolvePort(port: number | string | undefined, c: V1Container): number {
  if (typeof port === "number") return port;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  const named = (c.ports ?? []).find((p) => p.name === port);
  if (!named) throw new Error(`probe port ${String(port)} is not a port of container ${c.name}`);
  return named.containerPort;
}

export interface ProbeContext {
  podIP: string;
  container: V1Container;
  /** Where an exec probe runs: as `kubectl exec` does (the runtime's exec), with the container's user. */
  exec: ExecTarget;
}

/** Runs a probe once: true on success. */
export async function runProbe(probe: V1Probe, ctx: ProbeContext): Promise<boolean> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const port = resolvePort(g.port as number | string, ctx.container);
      const mod = (g.scheme ?? "HTTP").toUpperCase() === "HTTPS" ? https : http;
      const headers: Record<string, string> = { "User-Agent": "kube-probe/1.32" };
      for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
      return await new Promise<boolean>((resolve) => {
        const req = mod.request(
          {
            host: g.host || ctx.podIP,
            port,
            path: g.path ?? "/",
            method: "GET",
            headers,
            timeout: timeoutMs,
            rejectUnauthorized: false,
          },
          (res) => {
            res.resume();
            const code = res.statusCode ?? 0;
            resolve(code >= 200 && code < 400);
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => resolve(false));
        req.end();
      });
    }
    if (probe.tcpSocket) {
      const port = resolvePort(probe.tcpSocket.port as number | string, ctx.container);
      return await new Promise<boolean>((resolve) => {
        const s = net.connect({
          host: probe.tcpSocket!.host || ctx.podIP,
          port,
          timeout: timeoutMs,
        });
        s.on("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.on("timeout", () => {
          s.destroy();
          resolve(false);
        });
        s.on("error", () => resolve(false));
      });
    }
    if (probe.exec) {
      const cmd = probe.exec.command ?? [];
      if (cmd.length === 0) return false;
      return await new Promise<boolean>((resolve) => {
        const argv = execArgv(ctx.exec, {
          command: cmd,
          stdin: false,
          stdout: false,
          stderr: false,
          tty: false,
        });
        const child = spawn(argv[0]!, argv.slice(1), {
          env: ctx.exec.env,
          cwd: "/",
          stdio: "ignore",
          detached: true,
        });
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            /* gone */
          }
        }, timeoutMs);
        child.on("exit", (code) => {
          clearTimeout(timer);
          resolve(code === 0);
        });
        child.on("error", () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
    }
    if (probe.grpc) return false;
  } catch {
    return false;
  }
  return true;
}
