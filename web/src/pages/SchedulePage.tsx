import { type FormEvent, useId, useMemo, useRef, useState } from "react";
import { api, type Days, type Preferences } from "../api/client";
import { ErrorAlert, Loading, StatusMessage } from "../components/Alerts";
import { Combobox, type ComboboxOption } from "../components/Combobox";
import { BusyButton } from "../components/BusyButton";
import { FieldErrorText } from "../components/TextField";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useFocusFirstInvalid } from "../hooks/useFocusFirstInvalid";
import { useResource } from "../hooks/useResource";
import { formatDateTimeInZone } from "../lib/format";
import { formErrors } from "../lib/formErrors";
import { allTimeZones, browserTimeZone, searchTimeZones } from "../lib/timezones";

const DAY_CHOICES: { value: Days; label: string; hint: string }[] = [
  { value: "every_day", label: "Every day", hint: "Seven days a week, weekends included." },
  { value: "weekdays", label: "Weekdays", hint: "Monday to Friday." },
  {
    value: "trading_days",
    label: "Trading days",
    hint: "Weekdays when the US stock market is open (no market holidays).",
  },
];

const FIELDS = ["time_zone", "send_time", "days", "paused", "include_news", "include_earnings"] as const;

interface ScheduleForm {
  timeZone: string;
  sendTime: string;
  days: Days;
  paused: boolean;
  includeNews: boolean;
  includeEarnings: boolean;
}

function toForm(p: Preferences): ScheduleForm {
  return {
    timeZone: p.time_zone,
    sendTime: p.send_time,
    days: p.days,
    paused: p.paused,
    includeNews: p.include_news,
    includeEarnings: p.include_earnings,
  };
}

/** "europe/paris" or "Europe/Paris " → "Europe/Paris" when it names a known zone. */
function canonicalZone(typed: string, zones: readonly string[]): string {
  const wanted = typed.trim().replace(/\s+/g, "_").toLowerCase();
  return zones.find((z) => z.toLowerCase() === wanted) ?? typed.trim();
}

export function SchedulePage() {
  useDocumentTitle("Schedule");
  const prefs = useResource((signal) => api.preferences({ signal }));

  return (
    <div className="page">
      <h1>Schedule</h1>
      <p>When your digest arrives, and what it covers.</p>
      {prefs.data ? (
        <ScheduleEditor saved={prefs.data} onSaved={(p) => prefs.setData(p)} />
      ) : prefs.problem ? (
        <ErrorAlert>
          <p>Could not load your schedule: {prefs.problem.detail}</p>
          <button type="button" className="button button-secondary" onClick={prefs.reload}>
            Try again
          </button>
        </ErrorAlert>
      ) : (
        <Loading />
      )}
    </div>
  );
}

function ScheduleEditor({
  saved,
  onSaved,
}: {
  saved: Preferences;
  onSaved: (p: Preferences) => void;
}) {
  // The form keeps what the person typed until a save succeeds; a failed save loses nothing.
  const [form, setForm] = useState<ScheduleForm>(() => toForm(saved));
  const [zoneText, setZoneText] = useState(saved.time_zone);
  const [status, setStatus] = useState<string | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const save = useAction(api.updatePreferences);
  useFocusFirstInvalid(formRef, save.problem);
  const errors = formErrors(save.problem, FIELDS);
  const ids = useId();
  const sendTimeHint = `${ids}-send-time-hint`;
  const sendTimeError = `${ids}-send-time-error`;
  const daysError = `${ids}-days-error`;
  const pausedHint = `${ids}-paused-hint`;
  const pausedError = `${ids}-paused-error`;
  const contentError = `${ids}-content-error`;

  const zones = useMemo(() => {
    const all = allTimeZones();
    return all.includes(saved.time_zone) ? all : [saved.time_zone, ...all];
  }, [saved.time_zone]);
  const browserZone = browserTimeZone();
  const zoneOptions: ComboboxOption[] = useMemo(() => {
    const typed = zoneText.trim();
    // A box holding a zone exactly has nothing to suggest; an empty one lists them all.
    if (zones.includes(typed)) return [];
    return searchTimeZones(typed, zones, typed ? 50 : zones.length).map((zone) => ({
      key: zone,
      value: zone,
      label: zone === browserZone ? `${zone} (this device)` : zone,
    }));
  }, [zoneText, zones, browserZone]);

  function update<K extends keyof ScheduleForm>(key: K, value: ScheduleForm[K]) {
    setForm((f) => ({ ...f, [key]: value }));
    setStatus(null);
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setStatus(null);
    const timeZone = canonicalZone(zoneText, zones);
    const result = await save.run({
      time_zone: timeZone,
      send_time: form.sendTime.slice(0, 5),
      days: form.days,
      paused: form.paused,
      include_news: form.includeNews,
      include_earnings: form.includeEarnings,
    });
    if (result.ok) {
      onSaved(result.data);
      setForm(toForm(result.data));
      setZoneText(result.data.time_zone);
      setStatus("Saved");
    }
  }

  const offerBrowserZone = saved.time_zone === "UTC" && browserZone !== "UTC";

  return (
    <>
      <form ref={formRef} onSubmit={onSubmit} noValidate className="form schedule-form">
        <fieldset>
          <legend>When</legend>
          <Combobox
            label="Time zone"
            listLabel="Matching zones"
            name="time_zone"
            hint="Type a city or region, e.g. New York or Europe/Paris, and choose from the list."
            value={zoneText}
            onValueChange={(value) => {
              setZoneText(value);
              setStatus(null);
            }}
            options={zoneOptions}
            onSelect={(option) => setZoneText(option.value)}
            message={
              zoneText.trim() && !zones.includes(zoneText.trim()) && zoneOptions.length === 0
                ? "No time zone matches that."
                : undefined
            }
            error={errors.fields.time_zone}
          />
          {offerBrowserZone ? (
            <p className="inline-action">
              <button
                type="button"
                className="button button-secondary"
                onClick={() => {
                  setZoneText(browserZone);
                  setStatus(null);
                }}
              >
                Use my time zone ({browserZone})
              </button>
            </p>
          ) : null}

          <div className={errors.fields.send_time ? "field field-invalid" : "field"}>
            <label htmlFor={`${ids}-send-time`}>Send time</label>
            <p id={sendTimeHint} className="field-hint">
              Local time in your time zone (24-hour clock).
            </p>
            <input
              id={`${ids}-send-time`}
              name="send_time"
              type="time"
              required
              value={form.sendTime}
              onChange={(e) => update("sendTime", e.target.value)}
              aria-invalid={errors.fields.send_time ? true : undefined}
              aria-describedby={
                errors.fields.send_time ? `${sendTimeHint} ${sendTimeError}` : sendTimeHint
              }
            />
            <FieldErrorText id={sendTimeError} message={errors.fields.send_time} />
          </div>
        </fieldset>

        <fieldset
          aria-describedby={errors.fields.days ? daysError : undefined}
          className={errors.fields.days ? "choices field-invalid" : "choices"}
        >
          <legend>Days</legend>
          {DAY_CHOICES.map((choice) => (
            <div className="choice" key={choice.value}>
              <input
                type="radio"
                id={`${ids}-days-${choice.value}`}
                name="days"
                value={choice.value}
                checked={form.days === choice.value}
                onChange={() => update("days", choice.value)}
                aria-describedby={`${ids}-days-${choice.value}-hint`}
                aria-invalid={errors.fields.days ? true : undefined}
              />
              <label htmlFor={`${ids}-days-${choice.value}`}>{choice.label}</label>
              <p id={`${ids}-days-${choice.value}-hint`} className="choice-hint">
                {choice.hint}
              </p>
            </div>
          ))}
          <FieldErrorText id={daysError} message={errors.fields.days} />
        </fieldset>

        <div className={errors.fields.paused ? "choice field-invalid" : "choice"}>
          <input
            type="checkbox"
            id={`${ids}-paused`}
            name="paused"
            checked={form.paused}
            onChange={(e) => update("paused", e.target.checked)}
            aria-invalid={errors.fields.paused ? true : undefined}
            aria-describedby={errors.fields.paused ? `${pausedHint} ${pausedError}` : pausedHint}
          />
          <label htmlFor={`${ids}-paused`}>Pause digests</label>
          <p id={pausedHint} className="choice-hint">
            While paused, no digest is sent. Untick to start again.
          </p>
          <FieldErrorText id={pausedError} message={errors.fields.paused} />
        </div>

        <fieldset
          className="choices"
          aria-describedby={
            errors.fields.include_news || errors.fields.include_earnings ? contentError : undefined
          }
        >
          <legend>Content</legend>
          <div className="choice">
            <input
              type="checkbox"
              id={`${ids}-news`}
              name="include_news"
              checked={form.includeNews}
              onChange={(e) => update("includeNews", e.target.checked)}
              aria-invalid={errors.fields.include_news ? true : undefined}
            />
            <label htmlFor={`${ids}-news`}>Include news</label>
          </div>
          <div className="choice">
            <input
              type="checkbox"
              id={`${ids}-earnings`}
              name="include_earnings"
              checked={form.includeEarnings}
              onChange={(e) => update("includeEarnings", e.target.checked)}
              aria-invalid={errors.fields.include_earnings ? true : undefined}
            />
            <label htmlFor={`${ids}-earnings`}>Include earnings</label>
          </div>
          <FieldErrorText
            id={contentError}
            message={errors.fields.include_news ?? errors.fields.include_earnings}
          />
        </fieldset>

        {errors.form ? <ErrorAlert>{errors.form}</ErrorAlert> : null}
        <div className="form-actions">
          <BusyButton type="submit" busy={save.pending} busyLabel="Saving…">
            Save
          </BusyButton>
        </div>
      </form>
      <StatusMessage>{status}</StatusMessage>
      <NextDigest prefs={saved} />
    </>
  );
}

function NextDigest({ prefs }: { prefs: Preferences }) {
  if (prefs.paused) {
    return <p className="next-digest">Digests are paused: none will be sent until you resume.</p>;
  }
  if (!prefs.next_send_at) {
    return (
      <p className="next-digest">
        Next digest: not scheduled yet. Digests start once your email address is confirmed.
      </p>
    );
  }
  return (
    <p className="next-digest">
      Next digest: <strong>{formatDateTimeInZone(prefs.next_send_at, prefs.time_zone)}</strong>
    </p>
  );
}
