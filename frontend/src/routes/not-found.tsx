import { Link } from "react-router";
import { buttonClass } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/states";

export function NotFoundPage() {
  return (
    <EmptyState
      title="Page not found"
      description="This page does not exist, or you do not have access to it."
      action={
        <Link to="/" className={buttonClass("secondary")}>
          Back to projects
        </Link>
      }
    />
  );
}
