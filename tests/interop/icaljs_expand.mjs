// Expands an iCalendar file the way Thunderbird does, with Mozilla's ical.js.
//
//   node icaljs_expand.mjs FILE.ics FROM_ISO TO_ISO
//
// prints {"instances": [{"uid", "start", "end"}], "floating": [...], "zones": [...]} as JSON:
// every occurrence (UTC, ...Z) that overlaps [FROM, TO), sorted by start then uid. A time
// whose TZID has no VTIMEZONE comes out floating: it is placed in the zone of the process
// (the TZ environment variable), as a calendar program would show it, and listed in
// "floating". ical.js is loaded from .cache/icaljs under the repository root (`make test`
// installs it there).
import { readFileSync } from 'node:fs';

const ICALJS = new URL('../../.cache/icaljs/node_modules/ical.js/dist/ical.js', import.meta.url);
// A weekly series reaches far less than this within any window a test asks for.
const MAX_STEPS = 100000;
// Occurrences are walked until their RECURRENCE-ID lies this far past the window: a moved
// occurrence (CALENDAR.md item 14) stays between its neighbours, so a month is plenty.
const MOVE_MARGIN_MS = 31 * 24 * 3600 * 1000;

function fail(message) {
  process.stderr.write(`icaljs_expand: ${message}\n`);
  process.exit(2);
}

async function loadIcal() {
  try {
    return (await import(ICALJS.href)).default;
  } catch (error) {
    fail(`cannot load ical.js from ${ICALJS.pathname} (run \`make test\`): ${error.message}`);
  }
  return null;
}

function parseInstant(text, label) {
  const when = new Date(text);
  if (Number.isNaN(when.getTime())) {
    fail(`${label} ${JSON.stringify(text)} is not an ISO date-time`);
  }
  return when;
}

function main(ICAL, [file, fromText, toText]) {
  if (!file || !fromText || !toText) {
    fail('usage: node icaljs_expand.mjs FILE.ics FROM_ISO TO_ISO');
  }
  const from = parseInstant(fromText, 'FROM');
  const to = parseInstant(toText, 'TO');
  const root = new ICAL.Component(ICAL.parse(readFileSync(file, 'utf8')));

  // ical.js 2.x looks a TZID up among the VTIMEZONEs of the calendar it belongs to, then in
  // the global TimezoneService. Registering the file's zones covers both paths; a TZID
  // without VTIMEZONE still finds nothing and stays floating.
  for (const vtimezone of root.getAllSubcomponents('vtimezone')) {
    ICAL.TimezoneService.register(vtimezone);
  }

  const floating = new Set();
  const zones = new Set();
  const instances = [];

  const isFloating = (time) => time.isDate || time.zone === ICAL.Timezone.localTimezone;
  const note = (uid, what, time) => {
    if (isFloating(time)) {
      floating.add(`${uid} ${what} ${time.toString()}`);
    } else {
      zones.add(time.zone.tzid);
    }
  };
  // toJSDate places a floating time in the zone of the process; a zoned one is exact.
  const instant = (time) => time.toJSDate();

  const vevents = root.getAllSubcomponents('vevent');
  const masters = vevents.filter((vevent) => !vevent.hasProperty('recurrence-id'));
  for (const master of masters) {
    const uid = String(master.getFirstPropertyValue('uid'));
    // Passing the exceptions stops ical.js from attaching every RECURRENCE-ID in the file.
    const overrides = vevents.filter(
      (vevent) =>
        vevent.hasProperty('recurrence-id') &&
        String(vevent.getFirstPropertyValue('uid')) === uid,
    );
    const event = new ICAL.Event(master, { strictExceptions: true, exceptions: overrides });
    for (const exdate of master.getAllProperties('exdate')) {
      for (const value of exdate.getValues()) {
        note(uid, 'EXDATE', value);
      }
    }
    for (const override of overrides) {
      note(uid, 'RECURRENCE-ID', override.getFirstPropertyValue('recurrence-id'));
    }

    const iterator = event.iterator();
    for (let step = 0; step < MAX_STEPS; step += 1) {
      const occurrence = iterator.next();
      if (!occurrence) {
        break;
      }
      if (instant(occurrence).getTime() >= to.getTime() + MOVE_MARGIN_MS) {
        break;
      }
      const details = event.getOccurrenceDetails(occurrence);
      const status = details.item.component.getFirstPropertyValue('status');
      if (status && String(status).toUpperCase() === 'CANCELLED') {
        continue;
      }
      const start = instant(details.startDate);
      const end = instant(details.endDate);
      if (!(start < to && (end > from || (end.getTime() === start.getTime() && start >= from)))) {
        continue;
      }
      note(uid, 'DTSTART', details.startDate);
      note(uid, 'DTEND', details.endDate);
      instances.push({ uid, start: utc(start), end: utc(end) });
    }
  }

  instances.sort((a, b) => (a.start === b.start ? cmp(a.uid, b.uid) : cmp(a.start, b.start)));
  const result = { instances, floating: [...floating].sort(), zones: [...zones].sort() };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function cmp(a, b) {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

function utc(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const ICAL = await loadIcal();
try {
  main(ICAL, process.argv.slice(2));
} catch (error) {
  fail(`${error.name}: ${error.message}`);
}
