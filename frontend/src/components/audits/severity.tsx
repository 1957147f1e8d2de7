import { Badge, type Tone } from "@/components/ui/badge";
import { humanize } from "@/lib/format";

export const SEVERITIES = ["error", "warning", "notice"] as const;

const tones: Record<string, Tone> = { error: "red", warning: "amber", notice: "blue" };

export function SeverityBadge({ severity }: { severity: string }) {
  return <Badge tone={tones[severity] ?? "gray"}>{humanize(severity)}</Badge>;
}

export function statusTone(code: number | null | undefined): Tone {
  if (code == null) return "gray";
  if (code >= 500) return "red";
  if (code >= 400) return "amber";
  if (code >= 300) return "violet";
  return "green";
}
