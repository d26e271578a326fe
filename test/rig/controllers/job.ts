// Job controller: runs pods (parallelism) until `completions` succeed or more than backoffLimit fail; status and the
// Complete/Failed conditions (`kubectl wait --for=condition=complete`).
import type { V1Job, V1JobCondition, V1JobStatus, V1Pod } from "@kubernetes/client-node";
import { watchOwnerAndPods, type Context } from "./context.js";
import {
  creationTime,
  ignoreNotFound,
  isActive,
  isDeleting,
  isReady,
  mergePatch,
  ownedBy,
  ownerRefFor,
  podFromTemplate,
  sameJSON,
  setCondition,
  splitKey,
} from "./kube.js";
import { failedCreateMessage, makeRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";

function finished(job: V1Job): boolean {
  return !!job.status?.conditions?.some(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

export function startJobController(ctx: Context): WorkQueue {
  const { pods, jobs } = ctx.informers;
  const queue = new WorkQueue("job", reconcile, ctx.log, ctx.synced);
  const record = makeRecorder(ctx.clients, "job-controller", "batch/v1", "Job", ctx.log);
  watchOwnerAndPods(ctx, jobs, "Job", queue);

  async function reconcile(k: string): Promise<number | void> {
    const { namespace, name } = splitKey(k);
    const job = jobs.get(name, namespace);
    if (!job || !job.metadata?.uid || isDeleting(job)) return;
    const uid = job.metadata.uid;
    const owned = pods.list(namespace).filter((p) => ownedBy(p, job));
    // Own writes not in the cache yet: their events will bring us back (and the timer, should one never show).
    if (!ctx.expectations.satisfied(uid, owned)) return 1000;

    const succeeded = owned.filter((p) => p.status?.phase === "Succeeded").length;
    const failed = owned.filter((p) => p.status?.phase === "Failed").length;
    const active = owned.filter(isActive);
    const completions = job.spec?.completions ?? 1;
    const parallelism = job.spec?.parallelism ?? 1;
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const now = new Date().toISOString();
    let conditions = (job.status?.conditions ?? []) as V1JobCondition[];
    let completionTime = job.status?.completionTime;

    if (!finished(job)) {
      if (succeeded >= completions) {
        conditions = setCondition(conditions, {
          type: "SuccessCriteriaMet",
          status: "True",
          reason: "CompletionsReached",
          message: "Reached expected number of succeeded pods",
        });
        conditions = setCondition(conditions, {
          type: "Complete",
          status: "True",
          reason: "CompletionsReached",
          message: "Reached expected number of succeeded pods",
        });
        completionTime = now as unknown as Date;
        record(job, "Normal", "Completed", "Job completed");
        await deleteAll(uid, namespace, active);
      } else if (failed > backoffLimit) {
        record(
          job,
          "Warning",
          "BackoffLimitExceeded",
          "Job has reached the specified backoff limit",
        );
        conditions = setCondition(conditions, {
          type: "FailureTarget",
          status: "True",
          reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit",
        });
        conditions = setCondition(conditions, {
          type: "Failed",
          status: "True",
          reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit",
        });
        await deleteAll(uid, namespace, active);
      } else if (job.spec?.suspend) {
        await deleteAll(uid, namespace, active);
      } else {
        const want = Math.min(parallelism, completions - succeeded) - active.length;
        if (want > 0) {
          const jobLabels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
          };
          await Promise.all(
            Array.from({ length: want }, async () => {
              const body = podFromTemplate(
                job.spec?.template,
                namespace,
                ownerRefFor(job, "batch/v1", "Job"),
                { generateName: `${name}-` },
                jobLabels,
              );
              try {
                const created = await ctx.clients.core.createNamespacedPod({ namespace, body });
                ctx.expectations.created(uid, created.metadata!.name!);
                record(job, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata!.name}`);
              } catch (err) {
                record(job, "Warning", "FailedCreate", failedCreateMessage(err));
                throw err;
              }
            }),
          );
        } else if (want < 0) {
          const extra = [...active]
            .sort((a, b) => creationTime(b) - creationTime(a))
            .slice(0, -want);
          await deleteAll(uid, namespace, extra);
        }
      }
    }

    const status: V1JobStatus = {
      ...(job.status?.startTime
        ? { startTime: job.status.startTime }
        : { startTime: now as unknown as Date }),
      ...(completionTime ? { completionTime } : {}),
      active: conditions.some(
        (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      )
        ? 0
        : active.length,
      ready: active.filter(isReady).length,
      succeeded,
      failed,
      terminating: owned.filter(
        (p) => isDeleting(p) && !["Succeeded", "Failed"].includes(p.status?.phase ?? ""),
      ).length,
      ...(conditions.length ? { conditions } : {}),
    };
    if (!sameJSON(job.status ?? {}, status)) {
      await ignoreNotFound(
        ctx.clients.batch.patchNamespacedJobStatus(
          { name, namespace, body: { status } },
          mergePatch,
        ),
      );
    }
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl !== undefined && completionTime) {
      const left =
        Date.parse(
          String(completionTime instanceof Date ? completionTime.toISOString() : completionTime),
        ) +
        ttl * 1000 -
        Date.now();
      if (left > 0) return left;
      await ignoreNotFound(
        ctx.clients.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" }),
      );
    }
  }

  async function deleteAll(uid: string, namespace: string, list: V1Pod[]): Promise<void> {
    await Promise.all(
      list.map(async (p) => {
        ctx.expectations.deleted(uid, p.metadata!.name!);
        await ignoreNotFound(
          ctx.clients.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace }),
        );
      }),
    );
  }

  return queue;
}
