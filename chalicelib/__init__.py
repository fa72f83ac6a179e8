"""LeadCRM: edge (api/, handlers/) -> domain (routing/, directory/, funnel/, ...) -> models/, db/, core/."""
