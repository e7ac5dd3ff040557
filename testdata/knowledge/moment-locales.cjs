// Proof of the `[[node.named_by]]` entry for moment's locales (data/packages.toml), run with
// the folder of an installed app as the working directory. First moment's other APIs run
// (parsing, formatting, arithmetic, durations, calendars, relative time, the built-in English
// data): no script of `locale/` may load. Then each API of the entry is called with a literal
// name, and exactly the scripts that name loads (normalised, then each `-` prefix) must load.
// Prints what it saw as JSON; exits 1 when the entry does not hold.
'use strict';

const path = require('node:path');
const moment = require(path.resolve('node_modules/moment'));
// `m.lang` is deprecated; it still loads, and the warning would only clutter the output.
moment.suppressDeprecationWarnings = true;

const localeFolder = path.join(path.dirname(require.resolve(path.resolve('node_modules/moment'))), 'locale');
const loaded = () =>
  Object.keys(require.cache)
    .filter((file) => path.dirname(file) === localeFolder)
    .map((file) => path.basename(file, '.js'))
    .sort();

const seen = {};
const base = moment.utc('2024-03-09T14:05:00Z');
seen.other_apis = [
  base.format('LLLL'),
  base.clone().add(3, 'days').fromNow(),
  base.calendar(moment.utc('2024-03-10T00:00:00Z')),
  moment.duration(90, 'minutes').humanize(),
  moment.utc('09/03/2024', 'DD/MM/YYYY', true).isValid(),
  moment.parseZone('2024-03-09T14:05:00+02:00').utcOffset(),
  moment.months().length,
  moment.localeData().longDateFormat('LL'),
  base.locale(),
  moment.locale(),
  base.localeData('en').months(base),
];
seen.after_other_apis = loaded();

// Each API with a literal name: what it loads.
const steps = [
  ['moment.locale("de")', () => moment.locale('de'), ['de']],
  ['m.locale("es")', () => base.clone().locale('es').format('LL'), ['es']],
  ['m.lang("it")', () => base.clone().lang('it').format('LL'), ['it']],
  ['moment(input, format, "nl")', () => moment('09-03-2024', 'DD-MM-YYYY', 'nl').format('LL'), ['nl']],
  ['moment.utc(input, format, "pt")', () => moment.utc('09-03-2024', 'DD-MM-YYYY', 'pt').format('LL'), ['pt']],
  ['moment.parseZone(input, format, "sv")', () => moment.parseZone('2024-03-09 +02:00', 'YYYY-MM-DD Z', 'sv').format('LL'), ['sv']],
  ['moment.localeData("fr_CA")', () => moment.localeData('fr_CA').months(base), ['fr-ca']],
  ['moment.locale("da-xx") loads its prefix', () => moment.locale('da-xx'), ['da']],
  ['duration.locale("ja")', () => moment.duration(2, 'hours').locale('ja').humanize(), ['ja']],
  ['defineLocale parentLocale "fi"', () => moment.defineLocale('x-lamina', { parentLocale: 'fi' }).months(base), ['fi']],
  ['updateLocale("pl", config)', () => moment.updateLocale('pl', { week: { dow: 1, doy: 4 } }), ['pl']],
];
seen.steps = [];
let holds = seen.after_other_apis.length === 0;
for (const [name, run, expected] of steps) {
  const before = new Set(loaded());
  run();
  const added = loaded().filter((script) => !before.has(script));
  const ok = JSON.stringify(added) === JSON.stringify(expected);
  holds = holds && ok;
  seen.steps.push({ name, expected, added, ok });
}
moment.locale('en');
console.log(JSON.stringify({ holds, ...seen }));
process.exitCode = holds ? 0 : 1;
