Rails.application.routes.draw do
  scope 'api/partner/v1', as: 'partner_v1', defaults: { format: :json } do
    use_doorkeeper do
      skip_controllers :authorizations, :applications, :authorized_applications
    end
  end
  get '/up', to: proc { [200, { 'Content-Type' => 'text/plain' }, ['ok']] }
end
