/* What the lower layers tell the top: plain counters it reads (STATUS=, the
 * control socket) and two callbacks, the only way anything calls up. */
#ifndef USD_COUNTERS_H
#define USD_COUNTERS_H

struct counters {
        unsigned long accepted, refused;
        void (*changed)(void *userdata);         /* something STATUS= shows changed */
        void (*resources_freed)(void *userdata); /* an fd or a process slot came back */
        void *userdata;
};

static inline void counters_changed(struct counters *c)
{
        if (c && c->changed)
                c->changed(c->userdata);
}

static inline void counters_freed(struct counters *c)
{
        if (c && c->resources_freed)
                c->resources_freed(c->userdata);
}

#endif
