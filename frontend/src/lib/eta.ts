export type ProgressSample = { at: number; fraction: number };

/** The fraction of the whole job done. The percentage spans every stage; the counters
 * belong to the current stage only, so they serve only when no percentage is reported. */
export function progressFraction(job: {
  progress_pct: number;
  progress_current?: number | null;
  progress_total?: number | null;
}): number {
  if (job.progress_pct <= 0 && job.progress_total && job.progress_total > 0 && job.progress_current != null) {
    return Math.min(1, Math.max(0, job.progress_current / job.progress_total));
  }
  return Math.min(1, Math.max(0, job.progress_pct / 100));
}

/** Seconds left at the rate observed across the samples, or null while it cannot be told. */
export function estimateEtaSeconds(samples: ProgressSample[]): number | null {
  if (samples.length < 2) return null;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const elapsed = (last.at - first.at) / 1000;
  const done = last.fraction - first.fraction;
  if (elapsed <= 0 || done <= 0) return null;
  if (last.fraction >= 1) return 0;
  return ((1 - last.fraction) / done) * elapsed;
}

const WINDOW_MS = 60_000;
const MAX_JOBS = 200;
// Samples per job id, kept across remounts so a job's ETA survives moving between pages.
const samplesByJob = new Map<string, ProgressSample[]>();

/** Records one observation of a job's progress (server time of its last write). */
export function recordProgress(jobId: string, sample: ProgressSample): ProgressSample[] {
  let list = samplesByJob.get(jobId);
  if (!list) {
    if (samplesByJob.size >= MAX_JOBS) samplesByJob.delete(samplesByJob.keys().next().value!);
    samplesByJob.set(jobId, (list = []));
  }
  const last = list[list.length - 1];
  if (!last || sample.at > last.at) {
    list.push(sample);
    while (list.length > 2 && sample.at - list[0]!.at > WINDOW_MS) list.shift();
  }
  return list;
}

type EtaJob = {
  id: string;
  status: string;
  progress_pct: number;
  progress_current?: number | null;
  progress_total?: number | null;
  updated_at: string;
};

/** Seconds left for a running job at its recently observed rate, or null. */
export function jobEtaSeconds(job: EtaJob | undefined): number | null {
  if (!job || job.status !== "running") return null;
  const list = recordProgress(job.id, { at: new Date(job.updated_at).getTime(), fraction: progressFraction(job) });
  return estimateEtaSeconds(list);
}
