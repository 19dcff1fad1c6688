package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
)

// Supervise adds agent to the supervisor's list of supervised users (R8);
// adding one already there is not an error. Whether the supervisor may
// supervise the agent is the caller's decision (earshot.MaySupervise). It
// returns ErrUserNotFound when either user does not exist, and EINVALID
// when they are the same user.
func (db *DB) Supervise(ctx context.Context, supervisor, agent string) error {
	if supervisor == agent {
		return earshot.Errorf(earshot.EINVALID, "a supervisor cannot supervise themselves")
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		for _, id := range []string{supervisor, agent} {
			if _, err := getUser(tx, id); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketSupervised).Put(pairKey(supervisor, agent), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketSupervisorsOf).Put(pairKey(agent, supervisor), nil)
	})
	if err != nil {
		return fmt.Errorf("supervise %s by %s: %w", agent, supervisor, err)
	}
	return nil
}

// Unsupervise removes agent from the supervisor's list; removing one who
// is not there is not an error. It returns only the errors of the
// database (and ctx's).
func (db *DB) Unsupervise(ctx context.Context, supervisor, agent string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		return unsupervise(tx, supervisor, agent)
	})
	if err != nil {
		return fmt.Errorf("unsupervise %s by %s: %w", agent, supervisor, err)
	}
	return nil
}

// SupervisedBy returns the ids of the agents on the supervisor's list,
// sorted; an unknown supervisor has none. It returns only the errors of
// the database (and ctx's).
func (db *DB) SupervisedBy(ctx context.Context, supervisor string) ([]string, error) {
	var ids []string
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ids = seconds(tx.Bucket(bucketSupervised), supervisor)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list supervised by %s: %w", supervisor, err)
	}
	return ids, nil
}

// SupervisorsOf returns the ids of the supervisors who have the agent on
// their list, sorted: whom to notify when the agent starts a service call
// (R8). It reads one index, so it is cheap on the call path. It returns
// only the errors of the database (and ctx's).
func (db *DB) SupervisorsOf(ctx context.Context, agent string) ([]string, error) {
	var ids []string
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ids = seconds(tx.Bucket(bucketSupervisorsOf), agent)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list supervisors of %s: %w", agent, err)
	}
	return ids, nil
}

func unsupervise(tx *bolt.Tx, supervisor, agent string) error {
	if err := tx.Bucket(bucketSupervised).Delete(pairKey(supervisor, agent)); err != nil {
		return err
	}
	return tx.Bucket(bucketSupervisorsOf).Delete(pairKey(agent, supervisor))
}

// deleteSupervisionsOf removes a user from both sides of every list.
func deleteSupervisionsOf(tx *bolt.Tx, user string) error {
	for _, agent := range seconds(tx.Bucket(bucketSupervised), user) {
		if err := unsupervise(tx, user, agent); err != nil {
			return err
		}
	}
	for _, supervisor := range seconds(tx.Bucket(bucketSupervisorsOf), user) {
		if err := unsupervise(tx, supervisor, user); err != nil {
			return err
		}
	}
	return nil
}
