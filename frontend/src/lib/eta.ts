/**
 * Time left for a running job, from what polling observed in its current stage only.
 *
 * A job's stages run at very different speeds (an audit crawls hundreds of pages a second
 * from a fast site, then renders about one a second in Chromium), so a rate measured in one
 * stage says nothing about the next: the samples start again at every stage (and attempt).
 * Within a stage the stage's own counters (`progress_current` / `progress_total`: pages
 * rendered of those to render) give the estimate, to the end of the stage; a stage without
 * moving counters falls back on the job's percentage, to the end of the job. Until a stage
 * has two samples with progress between them there is no estimate ("estimating…").
 */

export type ProgressSample = {
  /** Server time of the progress write (the job's `updated_at`), in ms. */
  at: number;
  pct: number;
  current: number | null;
  total: number | null;
};

export type Eta = {
  seconds: number;
  /** What the seconds run to: the end of the current stage (counters) or of the job. */
  until: "stage" | "job";
};

const WINDOW_MS = 60_000;

/** Seconds at the rate between the first and last samples, or null without progress. */
function atRate(first: { at: number; done: number }, last: { at: number; done: number }, left: number): number | null {
  const elapsed = (last.at - first.at) / 1000;
  const done = last.done - first.done;
  if (elapsed <= 0 || done <= 0) return null;
  return Math.max(0, (left / done) * elapsed);
}

/** The estimate from one stage's samples (oldest first), or null while it cannot be told. */
export function estimateStageEta(samples: readonly ProgressSample[]): Eta | null {
  const counted = samples.filter((s) => s.current != null && s.total != null && s.total > 0);
  if (counted.length >= 2) {
    const first = counted[0]!;
    const last = counted[counted.length - 1]!;
    const seconds = atRate(
      { at: first.at, done: first.current! },
      { at: last.at, done: last.current! },
      Math.max(0, last.total! - last.current!),
    );
    if (seconds != null) return { seconds, until: "stage" };
  }
  if (samples.length >= 2) {
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const seconds = atRate({ at: first.at, done: first.pct }, { at: last.at, done: last.pct }, Math.max(0, 100 - last.pct));
    if (seconds != null) return { seconds, until: "job" };
  }
  return null;
}

type StageTrack = { stage: string; samples: ProgressSample[] };

/** The samples of each job's current stage, kept per job id across remounts (a job's
 * estimate survives moving between pages). */
export class StageProgressTracker {
  private readonly tracks = new Map<string, StageTrack>();

  constructor(private readonly maxJobs = 200) {}

  /** Records one observation; a new stage (or attempt) starts the samples again. */
  record(jobId: string, stage: string, sample: ProgressSample): readonly ProgressSample[] {
    let track = this.tracks.get(jobId);
    if (!track || track.stage !== stage) {
      if (!track && this.tracks.size >= this.maxJobs) this.tracks.delete(this.tracks.keys().next().value!);
      track = { stage, samples: [] };
      this.tracks.set(jobId, track);
    }
    const list = track.samples;
    const last = list[list.length - 1];
    if (!last || sample.at > last.at) {
      list.push(sample);
      while (list.length > 2 && sample.at - list[0]!.at > WINDOW_MS) list.shift();
    }
    return list;
  }
}

const tracker = new StageProgressTracker();

type EtaJob = {
  id: string;
  status: string;
  stage: string;
  attempts: number;
  progress_pct: number;
  progress_current?: number | null;
  progress_total?: number | null;
  updated_at: string;
};

/** The estimate for a running job (null: still estimating); undefined when the job is not
 * running, so there is nothing to estimate. */
export function jobEta(job: EtaJob | undefined, progress: StageProgressTracker = tracker): Eta | null | undefined {
  if (!job || job.status !== "running") return undefined;
  const samples = progress.record(job.id, `${job.attempts}:${job.stage}`, {
    at: new Date(job.updated_at).getTime(),
    pct: job.progress_pct,
    current: job.progress_current ?? null,
    total: job.progress_total ?? null,
  });
  return estimateStageEta(samples);
}
