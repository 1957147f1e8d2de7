import { Button } from "./button";

export function Pagination({
  offset,
  limit,
  count,
  onChange,
}: {
  offset: number;
  limit: number;
  count: number;
  onChange: (offset: number) => void;
}) {
  if (count <= limit) return null;
  const end = Math.min(offset + limit, count);
  return (
    <nav
      aria-label="Pagination"
      className="flex items-center justify-between border-t border-slate-100 px-5 py-3 text-sm text-slate-600"
    >
      <span>
        {offset + 1}–{end} of {count}
      </span>
      <div className="flex gap-2">
        <Button variant="secondary" size="sm" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
          Previous
        </Button>
        <Button variant="secondary" size="sm" disabled={end >= count} onClick={() => onChange(offset + limit)}>
          Next
        </Button>
      </div>
    </nav>
  );
}
