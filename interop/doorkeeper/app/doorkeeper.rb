# Configured like the SEEK Pass token endpoint (REFERENCE §3).
Doorkeeper.configure do
  orm :active_record
  api_only
  grant_flows %w[client_credentials]
  client_credentials :from_basic, :from_params
  optional_scopes 'write.education', 'write.english_proficiency', 'write.microcredential',
                  'write.digital_identity', 'read.digital_identity'
  enforce_configured_scopes
  access_token_expires_in ENV.fetch('TOKEN_LIFETIME', '7200').to_i.seconds
end
