export const palette = ["#6366f1", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#06b6d4", "#64748b"];

export const severityColors = { error: "#ef4444", warning: "#f59e0b", notice: "#6366f1" } as const;

export const statusColors: Record<string, string> = {
  queued: "#94a3b8",
  running: "#6366f1",
  retrying: "#f59e0b",
  completed: "#10b981",
  failed: "#ef4444",
  cancelled: "#8b5cf6",
};
