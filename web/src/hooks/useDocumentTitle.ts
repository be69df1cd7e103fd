import { useEffect } from "react";

export const APP_NAME = "Quotidian";

/** Sets `document.title` to "<title> · Quotidian". */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · ${APP_NAME}` : APP_NAME;
  }, [title]);
}
