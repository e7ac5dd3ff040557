//! lamina e2e app: a scheduled digest. EventBridge invokes it with the deadlines of several teams;
//! it shows each deadline in the team's own time zone, in German, and how far away it is.
//! moment loads its German locale by a computed require (`./locale/` + name) when
//! `moment.locale('de')` asks for it; without the file it silently stays in English.
const moment = require('moment-timezone');

moment.locale('de');

const NOW = '2024-11-28T09:00:00Z';

exports.handler = async (event) => {
  const now = moment.utc(NOW);
  const lines = event.detail.deadlines.map((deadline) => {
    const due = moment.tz(deadline.due, deadline.zone);
    return {
      team: deadline.team,
      due: due.format('dddd, D. MMMM YYYY, HH:mm z'),
      in: due.from(now),
      weekend: [0, 6].includes(due.day()),
    };
  });
  return {
    source: event.source,
    locale: moment.locale(),
    generated: now.tz('Europe/Berlin').format('LLLL'),
    lines,
  };
};
