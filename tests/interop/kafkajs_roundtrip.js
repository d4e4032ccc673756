// kafkajs (a Kafka client written independently of librdkafka) against the
// embedded cluster while `bulwark run` serves it: produce events to the input
// topic, read them back from the sanitised topic, check the redaction.
//   node kafkajs_roundtrip.js BOOTSTRAP COUNT CANARY
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [bootstrap, countText, canary] = process.argv.slice(2);
  const count = Number(countText);
  const kafka = new Kafka({ clientId: "interop", brokers: bootstrap.split(","), logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) {
    const note = i % 2 === 0 ? `key ${canary} in a note` : "nothing to see";
    messages.push({ key: `js-${i}`, value: JSON.stringify({ js_id: i, source: "js-client", note }) });
  }
  await producer.send({ topic: "telemetry", messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: "interop-js", sessionTimeout: 6000 });
  await consumer.connect();
  await consumer.subscribe({ topic: "telemetry.sanitized", fromBeginning: true });
  const seen = new Map();
  let leaked = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout: ${seen.size}/${count} seen`)), 90000);
    consumer.run({
      eachMessage: async ({ message }) => {
        const text = message.value.toString();
        if (text.includes(canary)) leaked++;
        const ev = JSON.parse(text);
        if (ev.js_id === undefined) return;
        seen.set(ev.js_id, ev);
        if (seen.size === count) { clearTimeout(timer); resolve(); }
      },
    });
  });
  await consumer.disconnect();
  let tagged = 0;
  for (const [id, ev] of seen) {
    if (id % 2 === 0) {
      if (!ev._bulwark || ev._bulwark.verdict !== "redacted") throw new Error(`event ${id} not redacted`);
      tagged++;
    } else if (ev._bulwark) {
      throw new Error(`clean event ${id} was annotated`);
    }
  }
  if (leaked) throw new Error(`${leaked} records carried the canary`);
  console.log(`kafkajs: produced ${count}, read back ${seen.size}, redacted ${tagged}, leaked 0`);
}

main().then(() => process.exit(0), (e) => { console.error(`FAIL: ${e.message}`); process.exit(1); });
