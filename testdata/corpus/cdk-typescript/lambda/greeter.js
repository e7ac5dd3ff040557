//! lamina corpus app (CDK): the function's handler, plain JavaScript beside the TypeScript
//! infrastructure. Plans a delivery in business days and formats it in the caller's language.
'use strict';

const { addBusinessDays, differenceInCalendarDays, format, formatISO, parseISO } = require('date-fns');
const { de, fr } = require('date-fns/locale');

const LOCALES = { de, fr };

exports.handler = async (event) => {
  const body = JSON.parse(event.body);
  const locale = LOCALES[body.locale];
  const ordered = parseISO(body.orderedAt);
  const delivery = addBusinessDays(ordered, body.businessDays);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      greeting: `${body.locale === 'fr' ? 'Bonjour' : 'Hallo'} ${body.name}`,
      ordered: format(ordered, 'PPPP', { locale }),
      delivery: format(delivery, 'EEEE d MMMM yyyy', { locale }),
      deliveryDate: formatISO(delivery, { representation: 'date' }),
      calendarDays: differenceInCalendarDays(delivery, ordered),
    }),
  };
};
