import { useId } from "react";
import { isValidRange, presetRange, RANGE_PRESETS, type DateRange, type RangePreset } from "@/lib/date-range";
import { cn } from "./cn";

export type RangeChoice = { preset: RangePreset; range: DateRange };

export function presetChoice(preset: Exclude<RangePreset, "custom">, today?: string): RangeChoice {
  const days = RANGE_PRESETS.find((p) => p.key === preset)!.days;
  return { preset, range: presetRange(days, today) };
}

const dateInput =
  "rounded-md border-0 bg-white px-2 py-1 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-brand-600";

/** Last 7 / 28 days, 3 / 16 months, or two dates of one's own. */
export function RangePicker({
  value,
  onChange,
  presets = RANGE_PRESETS.map((p) => p.key),
}: {
  value: RangeChoice;
  onChange: (choice: RangeChoice) => void;
  presets?: Exclude<RangePreset, "custom">[];
}) {
  const id = useId();
  const setCustom = (range: DateRange) => {
    if (isValidRange(range)) onChange({ preset: "custom", range });
  };
  return (
    <div className="flex flex-wrap items-center gap-2">
      <div role="group" aria-label="Date range" className="inline-flex overflow-hidden rounded-md shadow-sm ring-1 ring-slate-300">
        {RANGE_PRESETS.filter((p) => presets.includes(p.key)).map((p) => (
          <button
            key={p.key}
            type="button"
            aria-pressed={value.preset === p.key}
            onClick={() => onChange(presetChoice(p.key))}
            className={cn(
              "border-r border-slate-200 px-2.5 py-1.5 text-xs font-medium",
              value.preset === p.key ? "bg-brand-600 text-white" : "bg-white text-slate-700 hover:bg-slate-50",
            )}
          >
            {p.label}
          </button>
        ))}
        <button
          type="button"
          aria-pressed={value.preset === "custom"}
          onClick={() => onChange({ preset: "custom", range: value.range })}
          className={cn("px-2.5 py-1.5 text-xs font-medium", value.preset === "custom" ? "bg-brand-600 text-white" : "bg-white text-slate-700 hover:bg-slate-50")}
        >
          Custom
        </button>
      </div>
      {value.preset === "custom" && (
        <div className="flex items-center gap-1.5 text-xs text-slate-600">
          <label htmlFor={`${id}-from`}>From</label>
          <input id={`${id}-from`} type="date" className={dateInput} value={value.range.start} max={value.range.end} onChange={(e) => setCustom({ ...value.range, start: e.target.value })} />
          <label htmlFor={`${id}-to`}>to</label>
          <input id={`${id}-to`} type="date" className={dateInput} value={value.range.end} min={value.range.start} onChange={(e) => setCustom({ ...value.range, end: e.target.value })} />
        </div>
      )}
    </div>
  );
}
