/** The browser's IANA time zone, e.g. "Europe/Paris" ("UTC" when unknown). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

const FALLBACK_ZONES = [
  "UTC",
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Los_Angeles",
  "America/Sao_Paulo",
  "Europe/London",
  "Europe/Paris",
  "Europe/Berlin",
  "Africa/Johannesburg",
  "Asia/Dubai",
  "Asia/Kolkata",
  "Asia/Singapore",
  "Asia/Hong_Kong",
  "Asia/Tokyo",
  "Australia/Sydney",
  "Pacific/Auckland",
];

let cached: string[] | null = null;

/** Every IANA zone the browser knows, plus "UTC", sorted. */
export function allTimeZones(): string[] {
  if (cached) return cached;
  let zones: string[];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    zones = FALLBACK_ZONES;
  }
  cached = Array.from(new Set(["UTC", ...zones])).sort((a, b) => a.localeCompare(b));
  return cached;
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[_/\s]+/g, " ").trim();
}

/**
 * Zones matching what was typed ("new york", "paris", "europe/"), best first: names
 * whose city starts with the query, then any other match.
 */
export function searchTimeZones(query: string, zones: readonly string[], limit = 50): string[] {
  const q = normalise(query);
  if (!q) return zones.slice(0, limit);
  const starts: string[] = [];
  const contains: string[] = [];
  for (const zone of zones) {
    const name = normalise(zone);
    const city = normalise(zone.slice(zone.lastIndexOf("/") + 1));
    if (city.startsWith(q) || name.startsWith(q)) starts.push(zone);
    else if (name.includes(q)) contains.push(zone);
  }
  return [...starts, ...contains].slice(0, limit);
}
