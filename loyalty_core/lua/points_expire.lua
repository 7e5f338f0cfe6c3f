--! uses _ledger
-- Expire what is left of the lots past their date (the expiry job, and any member read that needs it).
-- Naturally idempotent: an expired lot is gone. KEYS[1..6], ARGV[1..3] see _ledger.lua
begin()
local expired = expire_due()
return finish({answer = {member_id = MEMBER, expired = expired}})
