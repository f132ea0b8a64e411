"""Community settings: who may sign up (open, by invite link, by e-mail domain), the privacy
notice and imprint texts admins write, and asking members to accept a new privacy notice."""
