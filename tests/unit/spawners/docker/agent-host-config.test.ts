// The pure rules of containment: which workspace paths may be mounted, which
// image users are root, and the host config every agent container gets.
import { workspacePathProblem, workspaceUnderRootProblem } from '../../../../src/domain/workspace-path.js';
import { agentHostConfig, AGENT_PIDS_LIMIT, rootUserProblem } from '../../../../src/spawners/docker/agent-host-config.js';
import { parseCatalogue } from '../../../../src/config/catalogue.js';

describe('workspace paths', () => {
  test.each(['/srv/checkouts/billing-api', '/srv/checkouts/a.b_c-d', '/home/ci/work'])('%s is a plain absolute path', (p) => {
    expect(workspacePathProblem(p)).toBeUndefined();
  });

  test.each([
    ['/', /must not be \//],
    ['/var/run/docker.sock:/var/run/docker.sock', /must not contain ":"/],
    ['/srv/checkouts/billing:ro', /must not contain ":"/],
    ['/srv/checkouts/../../etc', /must not contain "\." or "\.\." segments/],
    ['/srv/./checkouts', /must not contain "\." or "\.\." segments/],
    ['relative/path', /must be an absolute host path/],
    ['/srv//checkouts', /must not contain "\/\/"/],
    ['/srv/checkouts/', /must not contain "\/\/" or end with "\/"/],
  ])('%s is refused', (p, problem) => {
    expect(workspacePathProblem(p)).toMatch(problem);
  });

  test('only paths under WORKSPACE_ROOT may be mounted, and none when it is unset', () => {
    expect(workspaceUnderRootProblem('/srv/checkouts/billing', '/srv/checkouts')).toBeUndefined();
    expect(workspaceUnderRootProblem('/srv/checkouts/billing', '/srv/checkouts/')).toBeUndefined();
    expect(workspaceUnderRootProblem('/srv/checkouts', '/srv/checkouts')).toMatch(/must lie under WORKSPACE_ROOT/);
    expect(workspaceUnderRootProblem('/srv/checkouts-evil/x', '/srv/checkouts')).toMatch(/must lie under WORKSPACE_ROOT/);
    expect(workspaceUnderRootProblem('/var/run/docker.sock', '/srv/checkouts')).toMatch(/must lie under WORKSPACE_ROOT/);
    expect(workspaceUnderRootProblem('/srv/checkouts/billing', undefined)).toMatch(/workspaces are off: set WORKSPACE_ROOT/);
  });

  test('the catalogue refuses a workspace that is not a plain absolute path', () => {
    const yaml = (ws: string) => `projects:\n  demo:\n    workspace: "${ws}"\n    agent: { command: ["true"] }\n`;
    expect(() => parseCatalogue(yaml('/srv/checkouts/demo:ro'), 'projects.yml')).toThrow(/projects\.demo\.workspace: must not contain ":"/);
    expect(() => parseCatalogue(yaml('/srv/checkouts/../../'), 'projects.yml')).toThrow(
      /projects\.demo\.workspace: must not contain "\." or "\.\." segments/,
    );
    expect(() => parseCatalogue(yaml('/'), 'projects.yml')).toThrow(/projects\.demo\.workspace: must not be \//);
    expect(parseCatalogue(yaml('/srv/checkouts/demo'), 'projects.yml').projects.get('demo')?.workspace).toBe('/srv/checkouts/demo');
  });
});

describe('agent containers', () => {
  test.each([[undefined], [''], ['root'], ['0'], ['0:0'], ['root:staff']])('image user %j is root', (user) => {
    expect(rootUserProblem(user)).toMatch(/runs as root .*agents never run as root — add a non-root USER to the image/);
  });

  test.each([['node'], ['1000'], ['1000:1000'], ['app:app']])('image user %j is not', (user) => {
    expect(rootUserProblem(user)).toBeUndefined();
  });

  test('every hardening setting is set, with a volume for /workspace unless the project mounts its own', () => {
    const resources = { cpus: 1.5, memoryBytes: 512 * 1024 * 1024 };
    const plain = agentHostConfig({ resources }, { network: 'switchboard-agents' });
    expect(plain).toEqual({
      AutoRemove: true,
      NetworkMode: 'switchboard-agents',
      NanoCpus: 1.5e9,
      Memory: 512 * 1024 * 1024,
      MemorySwap: 512 * 1024 * 1024,
      PidsLimit: AGENT_PIDS_LIMIT,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      ReadonlyRootfs: true,
      Init: true,
      Tmpfs: { '/tmp': expect.stringMatching(/^rw,nosuid,nodev,size=\d+m,mode=1777$/) },
      Mounts: [{ Type: 'volume', Source: '', Target: '/workspace', ReadOnly: false }],
    });
    const mounted = agentHostConfig({ resources, workspace: '/srv/checkouts/demo' }, { network: 'switchboard-agents', runtime: 'runsc' });
    expect(mounted.Mounts).toEqual([
      expect.objectContaining({ Type: 'bind', Source: '/srv/checkouts/demo', Target: '/workspace', ReadOnly: false }),
    ]);
    expect(mounted.Runtime).toBe('runsc');
    expect(mounted).not.toHaveProperty('Binds');
  });
});
