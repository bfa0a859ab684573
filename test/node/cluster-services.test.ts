/**
 * The daemon's own address record when it listens on every address (`0.0.0.0`, `::`, the default of
 * `serve` and `npm start`): it lists the machine's real addresses, never the unspecified one. No
 * socket is opened here; the listen address is only what the cluster services are told.
 */
import { type TestContext, test } from 'node:test';
import { advertisedAddresses } from '../../src/cluster/index.ts';
import { NodeHome } from '../../src/home/open.ts';
import { ClusterServices } from '../../src/node/cluster-services.ts';
import { teardown } from '../helpers/context.ts';
import { homeTemplate } from '../helpers/homes.ts';

const template = homeTemplate();

for (const host of ['0.0.0.0', '::']) {
  test(`a node listening on ${host} signs its interface addresses, not ${host}`, async (t: TestContext) => {
    const home = await NodeHome.open(await template.copy(t));
    const listen = { host, port: 7420 };
    const cluster = new ClusterServices({
      home,
      trust: await home.trustStore(),
      pool: {
        session: () => {
          throw new Error('no peer is dialled: this node trusts nobody');
        },
        drop: () => {},
      },
      listen: () => listen,
      log: () => {},
      discovery: false,
    });
    teardown(t).defer(() => cluster.close());
    await cluster.start();
    const addresses = cluster.record?.addresses ?? [];
    t.assert.deepStrictEqual(addresses, advertisedAddresses(listen));
    t.assert.ok(!addresses.some((a) => a.host === host));
  });
}
