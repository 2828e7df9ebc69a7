--[[
  Renews leases that their owners still hold: the owner-checked renewal of
  every lock and lease (channel and workspace locks, supervision and
  reconciler leases, claims of deliveries being handled).
  KEYS[1..n] the lease keys
  ARGV[1] JSON array: each key's lease (ms) · ARGV[2] JSON array: each key's owner
  Returns an array, one per key: 1 renewed, 0 lost (gone, or another owner's).
]]
local leases = cjson.decode(ARGV[1])
local owners = cjson.decode(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == owners[i] then
    redis.call('PEXPIRE', key, leases[i])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
