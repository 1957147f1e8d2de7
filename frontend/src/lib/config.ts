/** Build-time settings of the dashboard (Vite exposes VITE_* variables). */
export const config = {
  /** Flower's public address, for links to a job's Celery task. */
  flowerUrl: (import.meta.env.VITE_FLOWER_URL as string | undefined) ?? "http://localhost:5555",
  /** How often an active job's status is polled. */
  jobPollMs: 2000,
};

export function flowerTaskUrl(taskId: string): string {
  return `${config.flowerUrl.replace(/\/$/, "")}/task/${taskId}`;
}
