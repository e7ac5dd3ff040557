// Runs the app on a local port for development; never used on Lambda.
const app = require('./app');

app.listen(3000, () => console.log('listening on http://localhost:3000'));
