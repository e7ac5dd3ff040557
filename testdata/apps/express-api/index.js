//! lamina e2e app: an express API (JSON body parsing, routing) formatting dates with a moment locale,
//! rendering the order's confirmation email with ejs (express loads the engine by a computed require).
const http = require('node:http');
const express = require('express');
const moment = require('moment');

const app = express();
app.set('views', `${__dirname}/views`);
app.set('view engine', 'ejs');
app.use(express.json());

app.post('/orders', (req, res) => {
  const { id, placedAt, locale, items } = req.body;
  // moment loads 'fr' by a computed require ('./locale/' + name); when that file is missing it
  // silently stays in English, which is exactly the kind of miss this app must catch.
  const placed = moment.utc(placedAt).locale(locale);
  const total = items.reduce((sum, item) => sum + item.qty * item.price, 0);
  const placedText = placed.format('dddd D MMMM YYYY [à] HH:mm');
  app.render('receipt', { id, placed: placedText, items, total: total.toFixed(2) }, (error, email) => {
    if (error) {
      res.status(500).json({ error: error.message });
      return;
    }
    res.status(201).json({
      id,
      locale: placed.locale(),
      placed: placedText,
      long: placed.format('LLLL'),
      age: placed.from(moment.utc('2024-12-25T00:00:00Z')),
      total: total.toFixed(2),
      email,
    });
  });
});

// Lambda hands the handler an API Gateway event; serve it through the real express stack on a
// loopback port so the whole framework (router, body-parser, finalhandler) runs.
exports.handler = async (event) => {
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${server.address().port}${event.path}`, {
      method: event.httpMethod,
      headers: event.headers,
      body: event.body,
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type');
    return {
      statusCode: res.status,
      contentType,
      body: contentType.startsWith('application/json') ? JSON.parse(text) : text,
    };
  } finally {
    server.closeAllConnections();
    server.close();
  }
};
