/** Build-time settings of the dashboard (Vite exposes VITE_* variables). */
export const config = {
  /** Flower's address until the API's (useFlowerUrl) arrives. */
  flowerUrl: (import.meta.env.VITE_FLOWER_URL as string | undefined) ?? "http://localhost:5555",
  /** How often an active job's status is polled. */
  jobPollMs: 2000,
};

/** Flower's page of a job's Celery task (the job id is the task id). */
export function flowerTaskUrl(flowerUrl: string, taskId: string): string {
  return `${flowerUrl.replace(/\/$/, "")}/task/${taskId}`;
}
