import { useQuery } from "@tanstack/react-query";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { serpQueries } from "@/queries/serp";

const formatDay = (value: unknown) => new Date(String(value)).toLocaleDateString("en", { month: "short", day: "numeric" });

/** A keyword's position day by day; the axis is inverted (1 at the top), days not in the
 * top N or failed leave a gap rather than a made-up position. */
export function KeywordHistory({ keywordId, onClose }: { keywordId: string; onClose: () => void }) {
  const history = useQuery(serpQueries.history(keywordId));
  return (
    <Card data-testid="keyword-history">
      <CardHeader
        title={history.data ? `History: ${history.data.keyword.text}` : "History"}
        description="Position per day (1 at the top); gaps are days not in the top results or whose check failed."
        actions={
          <button type="button" className="text-sm text-slate-500 hover:text-slate-900" onClick={onClose}>
            Close
          </button>
        }
      />
      <CardBody>
        <QueryBoundary query={history}>
          {(data) =>
            data.data.length === 0 ? (
              <EmptyState title="Not checked yet" />
            ) : (
              <figure aria-label={`Position of ${data.keyword.text} per day`}>
                <div role="img" aria-label={`Position of ${data.keyword.text} per day`} style={{ height: 240 }}>
                  <ResponsiveContainer width="100%" height="100%">
                    <LineChart data={data.data.map((day) => ({ date: day.date, position: day.position }))}>
                      <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
                      <XAxis dataKey="date" tickFormatter={formatDay} tick={{ fontSize: 12, fill: "#64748b" }} tickLine={false} />
                      <YAxis
                        reversed
                        domain={[1, "dataMax"]}
                        allowDecimals={false}
                        tick={{ fontSize: 12, fill: "#64748b" }}
                        tickLine={false}
                        axisLine={false}
                        width={40}
                      />
                      <Tooltip labelFormatter={formatDay} contentStyle={{ borderRadius: 8, fontSize: 12 }} />
                      <Line type="monotone" dataKey="position" name="Position" stroke="#4f46e5" strokeWidth={2} dot isAnimationActive={false} connectNulls={false} />
                    </LineChart>
                  </ResponsiveContainer>
                </div>
                <table className="sr-only">
                  <caption>Position per day</caption>
                  <thead>
                    <tr>
                      <th>Date</th>
                      <th>Position</th>
                      <th>Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.data.map((day) => (
                      <tr key={day.date}>
                        <td>{day.date}</td>
                        <td>{day.position ?? "—"}</td>
                        <td>{day.status}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </figure>
            )
          }
        </QueryBoundary>
      </CardBody>
    </Card>
  );
}
