import { type FormEvent, useEffect, useId, useMemo, useRef, useState } from "react";
import { api, type SymbolHit, type WatchlistItem } from "../api/client";
import { type ApiProblem, isAbortError, toApiProblem } from "../api/problem";
import { ErrorAlert, Loading, StatusMessage } from "../components/Alerts";
import { Combobox, type ComboboxOption } from "../components/Combobox";
import { BusyButton } from "../components/BusyButton";
import { useAction } from "../hooks/useAction";
import { useDebouncedValue } from "../hooks/useDebouncedValue";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useResource } from "../hooks/useResource";

/** How long typing must pause before the symbol search asks the API. */
export const SEARCH_DEBOUNCE_MS = 250;

interface SearchState {
  query: string;
  results: SymbolHit[];
  loading: boolean;
  problem: ApiProblem | null;
  sampleData: boolean;
}

const IDLE: SearchState = { query: "", results: [], loading: false, problem: null, sampleData: false };

/** Search-as-you-type over GET /api/v1/symbols, debounced, latest answer wins. */
function useSymbolSearch(text: string): SearchState {
  const query = useDebouncedValue(text.trim(), SEARCH_DEBOUNCE_MS);
  // Answers already seen on this screen, by lower-cased query (typing back and forth
  // costs no request: the service limits searches per minute).
  const [answers, setAnswers] = useState<ReadonlyMap<string, SearchState>>(() => new Map());
  // What the search shows, and the query it was last brought up to date for.
  const [shown, setShown] = useState<SearchState>(IDLE);
  const [shownFor, setShownFor] = useState("");
  const known = query ? answers.get(query.toLowerCase()) : undefined;
  if (query !== shownFor) {
    // A new query (adjusted during render, so no frame shows the old one as current):
    // its answer if already seen; else, while it is on its way, the previous results
    // stay (no flicker). An emptied box shows none.
    setShownFor(query);
    setShown(!query ? IDLE : (known ?? { ...shown, query, loading: true, problem: null }));
  }
  const asking = query !== "" && known === undefined;

  useEffect(() => {
    if (!asking) return;
    const controller = new AbortController();
    api.searchSymbols(query, { signal: controller.signal }).then(
      (answer) => {
        const found: SearchState = {
          query,
          results: answer.results,
          loading: false,
          problem: null,
          sampleData: answer.sample_data,
        };
        setAnswers((seen) => new Map(seen.size >= 100 ? [] : seen).set(query.toLowerCase(), found));
        if (!controller.signal.aborted) setShown(found);
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbortError(error)) return;
        setShown({ query, results: [], loading: false, problem: toApiProblem(error), sampleData: false });
      },
    );
    return () => controller.abort();
  }, [query, asking]);

  return text.trim() ? shown : IDLE;
}

export function WatchlistPage() {
  useDocumentTitle("Watchlist");
  const watchlist = useResource((signal) => api.watchlist({ signal }));
  const [text, setText] = useState("");
  const [status, setStatus] = useState<string | null>(null);
  const search = useSymbolSearch(text);
  const add = useAction(api.addSymbol);
  const [removing, setRemoving] = useState<ReadonlySet<string>>(new Set());
  const [removeProblem, setRemoveProblem] = useState<{ symbol: string; problem: ApiProblem } | null>(
    null,
  );
  const inputRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const addErrorId = useId();

  const items = useMemo(() => watchlist.data?.symbols ?? [], [watchlist.data]);
  const onList = useMemo(() => new Set(items.map((i) => i.symbol)), [items]);

  const options: ComboboxOption[] = useMemo(
    () =>
      search.results.map((hit) => ({
        key: hit.symbol,
        value: hit.symbol,
        label: (
          <>
            <span className="option-symbol">{hit.symbol}</span> — {hit.description}
            {hit.kind ? <span className="option-kind"> ({hit.kind})</span> : null}
            {onList.has(hit.symbol) ? <span className="option-note"> · on your list</span> : null}
          </>
        ),
      })),
    [search.results, onList],
  );

  async function addSymbol(raw: string) {
    const symbol = raw.trim();
    if (!symbol || add.pending) return;
    setStatus(null);
    const result = await add.run(symbol);
    if (result.ok) {
      const item = result.data;
      watchlist.setData((current) => ({
        max: current?.max ?? 0,
        symbols: [...(current?.symbols ?? []).filter((i) => i.symbol !== item.symbol), item],
      }));
      setText("");
      setStatus(`Added ${item.symbol} to your watchlist.`);
    }
    inputRef.current?.focus();
  }

  async function removeSymbol(item: WatchlistItem) {
    setStatus(null);
    setRemoveProblem(null);
    setRemoving((s) => new Set(s).add(item.symbol));
    let removed = false;
    try {
      await api.removeSymbol(item.symbol);
      removed = true;
    } catch (error) {
      const problem = toApiProblem(error);
      if (problem.status === 404) removed = true; // Already gone: same outcome.
      else setRemoveProblem({ symbol: item.symbol, problem });
    } finally {
      setRemoving((s) => {
        const next = new Set(s);
        next.delete(item.symbol);
        return next;
      });
    }
    if (!removed) return;
    // Keep keyboard focus nearby: the next Remove button, else the previous, else search.
    const buttons = Array.from(listRef.current?.querySelectorAll("button") ?? []);
    const index = items.findIndex((i) => i.symbol === item.symbol);
    const next = buttons[index + 1] ?? buttons[index - 1];
    watchlist.setData((current) => ({
      max: current?.max ?? 0,
      symbols: (current?.symbols ?? []).filter((i) => i.symbol !== item.symbol),
    }));
    setStatus(`Removed ${item.symbol} from your watchlist.`);
    if (next) next.focus();
    else inputRef.current?.focus();
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void addSymbol(text);
  }

  const max = watchlist.data?.max ?? 0;
  const full = max > 0 && items.length >= max;
  const message = !text.trim()
    ? undefined
    : search.loading
      ? "Searching…"
      : search.problem
        ? undefined
        : search.query && search.results.length === 0
          ? `No symbols match “${search.query}”. Press Enter to try adding it as typed.`
          : search.results.length > 0
            ? `${search.results.length} match${search.results.length === 1 ? "" : "es"}: use the Up and Down arrow keys to choose, Enter to add.`
            : undefined;

  return (
    <div className="page">
      <h1>Watchlist</h1>
      <p>The stocks and funds your daily digest covers.</p>
      <StatusMessage>{status}</StatusMessage>

      <section aria-labelledby="add-heading" className="card">
        <h2 id="add-heading">Add a symbol</h2>
        <form onSubmit={onSubmit} className="search-form" noValidate>
          <Combobox
            ref={inputRef}
            label="Search symbols"
            listLabel="Matching symbols"
            name="symbol"
            hint="Type a company name or a ticker such as AAPL, then choose a match."
            value={text}
            onValueChange={(value) => {
              setText(value);
              if (add.problem) add.reset();
            }}
            options={options}
            onSelect={(option) => void addSymbol(option.value)}
            message={message}
            describedBy={add.problem ? addErrorId : undefined}
          />
          <BusyButton type="submit" busy={add.pending} busyLabel="Adding…" disabled={!text.trim()}>
            Add
          </BusyButton>
        </form>
        {add.problem ? (
          <ErrorAlert id={addErrorId}>{add.problem.detail}</ErrorAlert>
        ) : null}
        {search.problem ? (
          <ErrorAlert>Search is not available right now: {search.problem.detail}</ErrorAlert>
        ) : null}
        {search.sampleData && search.results.length > 0 ? (
          <p className="note">Search results come from sample market data.</p>
        ) : null}
      </section>

      <section aria-labelledby="symbols-heading" className="card">
        <h2 id="symbols-heading">Your symbols</h2>
        {watchlist.loading && !watchlist.data ? (
          <Loading />
        ) : watchlist.problem && !watchlist.data ? (
          <ErrorAlert>
            <p>Could not load your watchlist: {watchlist.problem.detail}</p>
            <button type="button" className="button button-secondary" onClick={watchlist.reload}>
              Try again
            </button>
          </ErrorAlert>
        ) : (
          <>
            <p className="count">
              {items.length} of {max} symbols
              {full ? ": your watchlist is full; remove one to add another." : null}
            </p>
            {removeProblem ? (
              <ErrorAlert>
                Could not remove {removeProblem.symbol}: {removeProblem.problem.detail}
              </ErrorAlert>
            ) : null}
            {items.length === 0 ? (
              <p>No symbols yet. Search above to add your first one.</p>
            ) : null}
            <ul aria-label="Your symbols" className="symbol-list" ref={listRef}>
              {items.map((item) => (
                <li key={item.symbol}>
                  <span className="symbol">{item.symbol}</span>
                  <BusyButton
                    variant="secondary"
                    busy={removing.has(item.symbol)}
                    busyLabel="Removing…"
                    aria-label={
                      removing.has(item.symbol) ? `Removing ${item.symbol}…` : `Remove ${item.symbol}`
                    }
                    onClick={() => void removeSymbol(item)}
                  >
                    Remove
                  </BusyButton>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </div>
  );
}
