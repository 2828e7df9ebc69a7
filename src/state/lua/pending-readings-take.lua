--[[
  Hands a reading out once, and only to its requester.
  KEYS[1] the reading's key
  ARGV[1] the user who pressed
  Returns {'taken', json} | {'not-yours', json} | {'gone'}
]]
local v = redis.call('GET', KEYS[1])
if not v then return {'gone'} end
local ok, r = pcall(cjson.decode, v)
if not ok then return {'gone'} end
if r.user ~= ARGV[1] then return {'not-yours', v} end
redis.call('DEL', KEYS[1])
return {'taken', v}
